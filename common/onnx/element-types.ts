// ONNX tensor element types (TensorProto.DataType codes) → their ONNX names,
// the KServe datatype that carries them (none for bfloat16, complex, float8,
// 4-bit types), and their width for initializer sizes.
//
// The table is written out rather than read from onnx-proto's enum: that
// schema (ONNX 1.10) stops at BFLOAT16 = 16, and newer models carry the
// float8 and 4-bit codes.

import type { KServeDatatype } from '../datatypes.ts';

export type ElementType = {
  readonly code: number;
  /** The ONNX name, e.g. 'FLOAT', 'BFLOAT16'. */
  readonly onnx: string;
  /** The KServe datatype; null when KServe has none (the worker cannot serve such a tensor). */
  readonly kserve: KServeDatatype | null;
  /** Bits per element (4 for INT4); 0 for STRING, whose elements vary. */
  readonly bitsPerElement: number;
};

const TABLE: readonly ElementType[] = [
  { code: 1, onnx: 'FLOAT', kserve: 'FP32', bitsPerElement: 32 },
  { code: 2, onnx: 'UINT8', kserve: 'UINT8', bitsPerElement: 8 },
  { code: 3, onnx: 'INT8', kserve: 'INT8', bitsPerElement: 8 },
  { code: 4, onnx: 'UINT16', kserve: 'UINT16', bitsPerElement: 16 },
  { code: 5, onnx: 'INT16', kserve: 'INT16', bitsPerElement: 16 },
  { code: 6, onnx: 'INT32', kserve: 'INT32', bitsPerElement: 32 },
  { code: 7, onnx: 'INT64', kserve: 'INT64', bitsPerElement: 64 },
  { code: 8, onnx: 'STRING', kserve: 'BYTES', bitsPerElement: 0 },
  { code: 9, onnx: 'BOOL', kserve: 'BOOL', bitsPerElement: 8 },
  { code: 10, onnx: 'FLOAT16', kserve: 'FP16', bitsPerElement: 16 },
  { code: 11, onnx: 'DOUBLE', kserve: 'FP64', bitsPerElement: 64 },
  { code: 12, onnx: 'UINT32', kserve: 'UINT32', bitsPerElement: 32 },
  { code: 13, onnx: 'UINT64', kserve: 'UINT64', bitsPerElement: 64 },
  { code: 14, onnx: 'COMPLEX64', kserve: null, bitsPerElement: 64 },
  { code: 15, onnx: 'COMPLEX128', kserve: null, bitsPerElement: 128 },
  { code: 16, onnx: 'BFLOAT16', kserve: null, bitsPerElement: 16 },
  { code: 17, onnx: 'FLOAT8E4M3FN', kserve: null, bitsPerElement: 8 },
  { code: 18, onnx: 'FLOAT8E4M3FNUZ', kserve: null, bitsPerElement: 8 },
  { code: 19, onnx: 'FLOAT8E5M2', kserve: null, bitsPerElement: 8 },
  { code: 20, onnx: 'FLOAT8E5M2FNUZ', kserve: null, bitsPerElement: 8 },
  { code: 21, onnx: 'UINT4', kserve: null, bitsPerElement: 4 },
  { code: 22, onnx: 'INT4', kserve: null, bitsPerElement: 4 },
  { code: 23, onnx: 'FLOAT4E2M1', kserve: null, bitsPerElement: 4 },
];

const BY_CODE = new Map(TABLE.map((type) => [type.code, type]));

/** The element type of a code; an unknown code (0 = UNDEFINED, or one newer than this table) gets a placeholder name. */
export function elementType(code: number): ElementType {
  return BY_CODE.get(code) ?? { code, onnx: code === 0 ? 'UNDEFINED' : `type ${code}`, kserve: null, bitsPerElement: 0 };
}
