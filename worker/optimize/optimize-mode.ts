// What an optimization mode is: a transform from the source model's bytes to
// new bytes, the tolerance its outputs are held to, and the settings it
// records. The table of modes is modes.ts.

export type SourceModel = {
  /** The source version's model.onnx (a mode that hands onnxruntime a path may use it). */
  path: string;
  bytes: Uint8Array;
};

export type ModeResult = {
  bytes: Uint8Array;
  /** What the mode did or left undone, one line each (e.g. nodes it could not convert); recorded as they are. */
  notes: string[];
};

export type OptimizeMode = {
  /** One line for the usage text. */
  summary: string;
  /** The largest |new − source| output element allowed on the verification samples. */
  toleranceAbs: number;
  /** The settings the transform uses, recorded in optimization.json: only values that do not change between runs. */
  options: Readonly<Record<string, string | number | boolean>>;
  transform(source: SourceModel): Promise<ModeResult>;
};
