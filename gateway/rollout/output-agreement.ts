// How far a candidate version's answer is from the stable version's on the
// same input (a shadowed request): the largest element-wise difference over
// every output, and for classifier-like outputs whether each row's top-1
// class (argmax) is the same. Pure; runs on every shadowed request, so each
// output pair is read in one pass through DataViews, with no allocation per
// element (tensor bytes may sit at any offset in a frame, and typed arrays
// would need them aligned, i.e. copied).

import { datatypeByKServe, elementCount, isClassifierLike } from '../../common/datatypes.ts';
import type { InferAnswer, Tensor } from '../../common/wire.ts';

export type Agreement = {
  /** Largest |stable − candidate| over every element of every output; Infinity when an output is missing, or differs in datatype or shape, or a BYTES/BOOL element differs. */
  maxAbsDiff: number;
  /** Rows of classifier-like outputs compared by their argmax, and how many of them agreed. */
  argmaxRows: number;
  argmaxAgreeingRows: number;
};

type Reader = (view: DataView, byteOffset: number) => number;

const TWO_POW_32 = 4294967296;

// 64-bit integers as two 32-bit halves: exact below 2^53, rounded once above,
// like Number(bigint), without allocating a BigInt per element.
const READERS: Partial<Record<string, Reader>> = {
  BOOL: (v, o) => (v.getUint8(o) === 0 ? 0 : 1),
  UINT8: (v, o) => v.getUint8(o),
  UINT16: (v, o) => v.getUint16(o, true),
  UINT32: (v, o) => v.getUint32(o, true),
  UINT64: (v, o) => v.getUint32(o + 4, true) * TWO_POW_32 + v.getUint32(o, true),
  INT8: (v, o) => v.getInt8(o),
  INT16: (v, o) => v.getInt16(o, true),
  INT32: (v, o) => v.getInt32(o, true),
  INT64: (v, o) => v.getInt32(o + 4, true) * TWO_POW_32 + v.getUint32(o, true),
  FP16: (v, o) => v.getFloat16(o, true),
  FP32: (v, o) => v.getFloat32(o, true),
  FP64: (v, o) => v.getFloat64(o, true),
};

/** Compares two answers output by output, matched by name; a missing or mismatched output makes maxAbsDiff Infinity. */
export function compareAnswers(stable: InferAnswer, candidate: InferAnswer): Agreement {
  const agreement: Agreement = { maxAbsDiff: 0, argmaxRows: 0, argmaxAgreeingRows: 0 };
  // An output only one side has (either side) is a changed signature: a client reading it would break.
  if (stable.tensors.length !== candidate.tensors.length) agreement.maxAbsDiff = Infinity;
  for (const s of stable.tensors) {
    const c = candidate.tensors.find((tensor) => tensor.name === s.name);
    if (c === undefined || !sameLayout(s, c)) agreement.maxAbsDiff = Infinity;
    else compareTensors(s, c, agreement);
  }
  return agreement;
}

function sameLayout(s: Tensor, c: Tensor): boolean {
  if (s.datatype !== c.datatype || s.shape.length !== c.shape.length) return false;
  for (let i = 0; i < s.shape.length; i++) if (s.shape[i] !== c.shape[i]) return false;
  return true;
}

/** Folds one output pair into `agreement`. */
function compareTensors(s: Tensor, c: Tensor, agreement: Agreement): void {
  if (s.datatype === 'BYTES') {
    // Length-prefixed elements: equal bytes ⇔ equal elements.
    if (!bytesEqual(s.data, c.data)) agreement.maxAbsDiff = Infinity;
    return;
  }
  const read = READERS[s.datatype];
  const width = datatypeByKServe(s.datatype)?.bytesPerElement ?? 0;
  const count = elementCount(s.shape);
  if (read === undefined || s.data.byteLength !== count * width || c.data.byteLength !== count * width) {
    agreement.maxAbsDiff = Infinity;
    return;
  }
  const sv = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
  const cv = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  const classifier = isClassifierLike(s.datatype, s.shape);
  // A classifier is walked row by row so the argmax rides along the diff pass.
  const rowLength = classifier ? s.shape[1]! : count;
  const rows = classifier ? s.shape[0]! : count === 0 ? 0 : 1;
  let maxDiff = 0;
  let agreeing = 0;
  let offset = 0;
  for (let row = 0; row < rows; row++) {
    let sBest = NaN;
    let cBest = NaN;
    let sArg = 0;
    let cArg = 0;
    for (let column = 0; column < rowLength; column++, offset += width) {
      const a = read(sv, offset);
      const b = read(cv, offset);
      if (a !== b) {
        const diff = Math.abs(a - b);
        // NaN on both sides at one place is agreement; on one side only, the largest difference there is.
        if (diff !== diff) {
          if (a === a || b === b) maxDiff = Infinity;
        } else if (diff > maxDiff) maxDiff = diff;
      }
      // First maximum wins ties; a NaN is only kept while nothing else was seen.
      if (a > sBest || (sBest !== sBest && a === a)) { sBest = a; sArg = column; }
      if (b > cBest || (cBest !== cBest && b === b)) { cBest = b; cArg = column; }
    }
    if (sArg === cArg) agreeing++;
  }
  if (maxDiff > 0 && s.datatype === 'BOOL') maxDiff = Infinity;
  if (maxDiff > agreement.maxAbsDiff) agreement.maxAbsDiff = maxDiff;
  if (classifier) {
    agreement.argmaxRows += rows;
    agreement.argmaxAgreeingRows += agreeing;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
