// Tensor datatypes: the KServe v2 names, onnxruntime's names and the raw
// little-endian layout that travels between gateway and worker.
//
// BYTES is the one variable-width type. On the wire each element is a 4-byte
// little-endian length followed by that many bytes (the KServe binary tensor
// layout), so a BYTES tensor's byte length is not a function of its shape.

export type KServeDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type DatatypeInfo = {
  readonly kserve: KServeDatatype;
  readonly ort: OrtType;
  /** Bytes per element; 0 for BYTES (variable width). */
  readonly bytesPerElement: number;
};

const TABLE: readonly DatatypeInfo[] = [
  { kserve: 'BOOL', ort: 'bool', bytesPerElement: 1 },
  { kserve: 'UINT8', ort: 'uint8', bytesPerElement: 1 },
  { kserve: 'UINT16', ort: 'uint16', bytesPerElement: 2 },
  { kserve: 'UINT32', ort: 'uint32', bytesPerElement: 4 },
  { kserve: 'UINT64', ort: 'uint64', bytesPerElement: 8 },
  { kserve: 'INT8', ort: 'int8', bytesPerElement: 1 },
  { kserve: 'INT16', ort: 'int16', bytesPerElement: 2 },
  { kserve: 'INT32', ort: 'int32', bytesPerElement: 4 },
  { kserve: 'INT64', ort: 'int64', bytesPerElement: 8 },
  { kserve: 'FP16', ort: 'float16', bytesPerElement: 2 },
  { kserve: 'FP32', ort: 'float32', bytesPerElement: 4 },
  { kserve: 'FP64', ort: 'float64', bytesPerElement: 8 },
  { kserve: 'BYTES', ort: 'string', bytesPerElement: 0 },
];

const BY_KSERVE = new Map<string, DatatypeInfo>(TABLE.map((info) => [info.kserve, info]));
const BY_ORT = new Map<string, DatatypeInfo>(TABLE.map((info) => [info.ort, info]));

export const KSERVE_DATATYPES: readonly KServeDatatype[] = TABLE.map((info) => info.kserve);

/** Looks up a KServe datatype name; undefined when the name is not one we serve. */
export function datatypeByKServe(name: string): DatatypeInfo | undefined {
  return BY_KSERVE.get(name);
}

/** Looks up an onnxruntime tensor type; undefined for types KServe cannot name (e.g. bfloat16). */
export function datatypeByOrt(type: string): DatatypeInfo | undefined {
  return BY_ORT.get(type);
}

/** Number of elements of a concrete shape; 1 for a scalar (shape []). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/**
 * An output whose rows are scores over classes: rank 2, floating point, at least two columns. The rollout's
 * agreement gate and the optimization report compare such outputs by each row's top-1 class (argmax).
 */
export function isClassifierLike(datatype: string, shape: readonly number[]): boolean {
  return (datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64') && shape.length === 2 && shape[1]! > 1;
}
