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

/**
 * How far an output element of the new model may be from the source's, on each verification sample:
 * - `abs`: |new − source| ≤ abs, for a mode that should not change the arithmetic (graph: 1e-5);
 * - `ofOutputRange`: |new − source| ≤ ofOutputRange × the largest |source element| of that output on that sample,
 *   for a mode whose error scales with the values (FP16 rounds each weight to 2^-11 of itself), so that a model
 *   answering in thousands is held to the same relative bound as one answering in probabilities.
 * Recorded as it is in optimization.json (`verification.tolerance`), so the record says which.
 */
export type Tolerance = { abs: number } | { ofOutputRange: number };

export type OptimizeMode = {
  /** One line for the usage text. */
  summary: string;
  tolerance: Tolerance;
  /** The settings the transform uses, recorded in optimization.json: only values that do not change between runs. */
  options: Readonly<Record<string, string | number | boolean>>;
  transform(source: SourceModel): Promise<ModeResult>;
};

/** The largest |new − source| the tolerance allows for an output whose largest |source element| is `largestAbsOutput`. */
export function allowedAbsError(tolerance: Tolerance, largestAbsOutput: number): number {
  return 'abs' in tolerance ? tolerance.abs : tolerance.ofOutputRange * largestAbsOutput;
}

/** The tolerance as the CLI prints it: "0.00001", or "0.01 × largest |source output|". */
export function describeTolerance(tolerance: Tolerance): string {
  return 'abs' in tolerance ? String(tolerance.abs) : `${tolerance.ofOutputRange} × largest |source output|`;
}
