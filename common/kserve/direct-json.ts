// The fast path of decodeInferRequest for the common request shape: one
// strict pass over the body bytes that writes each input's numbers straight
// into its tensor, without JSON.parse, a JS array or a JS value per element
// (json-decode.ts micro-benchmark: several times faster on 64–2048 FP32s).
//
//   {"id":"r1","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[0.1,-2.5e-3,…]}],"outputs":[…],"parameters":{…}}
//    └─ small values: built as JSON.parse would ─────────────────────┘  └─ direct-tensor.ts ─┘    └─ small values ─────────┘
//
// The small values (id, parameters, outputs, each input's name, datatype,
// shape, parameters) are built as JS values, `data` becomes a DirectData
// holding the tensor's bytes, and check-request.ts runs on that skeleton
// unchanged: steps 1–5 keep one implementation, as for the sliced decoder.
//
// It decides nothing about a bad request: whatever is not valid, or not
// simple (a BOM, an escape or a non-ASCII byte in a string, a key other than
// the protocol's, a duplicate key, a number no fast method reads with
// certainty, a string or null in `data`, BYTES, a check that throws), makes
// readDirectJson return undefined, and the caller decodes the body with
// JSON.parse as before; so every error, code and message, comes from that one
// path, and a valid simple request gives the same tensors and fields.
//
// `data` is read as it comes when the input's name, datatype and shape came
// before it (the usual order); otherwise it is skipped and read once the
// input object closed.

import type { ModelSignature } from '../wire.ts';
import { checkRequest, type CheckedRequest } from './check-request.ts';
import { FAIL, JsonCursor } from './direct-cursor.ts';
import { readTensorData, tensorTarget } from './direct-tensor.ts';
import type { RequestLimits } from './request-limits.ts';

/** An input's `data`, already converted: what check-request.ts sees in place of the parsed array. */
class DirectData {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** Stands for a `data` seen before the input's name, datatype or shape, to be read after the input object. */
const PENDING = Symbol('direct-json: data read later');

export type DirectRequest = {
  request: CheckedRequest;
  /** The bytes of each of request.inputs, in the same (signature) order. */
  tensors: Uint8Array[];
};

type Plain = Record<string, unknown>;

/** The checked request and its tensors, or undefined when the body is not a valid request of the simple kind. */
export function readDirectJson(body: Uint8Array, signature: ModelSignature, limits: RequestLimits): DirectRequest | undefined {
  try {
    return readRequest(new JsonCursor(body), signature, limits);
  } catch {
    // DataNesting and checkRequest throw on a request that is not valid: the
    // JSON.parse path finds the same fault and words its error.
    return undefined;
  }
}

function readRequest(cursor: JsonCursor, signature: ModelSignature, limits: RequestLimits): DirectRequest | undefined {
  const root: Plain = {};
  const ok = cursor.object((key) => {
    if (Object.hasOwn(root, key)) return false;
    let value: unknown;
    if (key === 'inputs') value = readInputs(cursor, signature, limits);
    else if (key === 'id' || key === 'parameters' || key === 'outputs') value = cursor.any();
    else return false;
    root[key] = value;
    return value !== FAIL;
  });
  if (!ok || cursor.ws() !== undefined) return undefined;
  const request = checkRequest(root, signature, undefined, limits);
  const tensors: Uint8Array[] = [];
  for (const input of request.inputs) {
    if (!(input.data instanceof DirectData)) return undefined;
    tensors.push(input.data.bytes);
  }
  return { request, tensors };
}

function readInputs(cursor: JsonCursor, signature: ModelSignature, limits: RequestLimits): unknown[] | typeof FAIL {
  const inputs: unknown[] = [];
  const ok = cursor.array(() => {
    // More inputs than the model has: some is unknown or a duplicate, an error.
    if (inputs.length === signature.inputs.length) return false;
    const input = readInput(cursor, signature, limits);
    inputs.push(input);
    return input !== FAIL;
  });
  return ok ? inputs : FAIL;
}

function readInput(cursor: JsonCursor, signature: ModelSignature, limits: RequestLimits): Plain | typeof FAIL {
  const input: Plain = {};
  let dataStart = -1;
  let dataEnd = -1;
  const ok = cursor.object((key) => {
    if (Object.hasOwn(input, key)) return false;
    if (key === 'data') {
      if (cursor.ws() !== 0x5b) return false;
      if (input.name !== undefined && input.datatype !== undefined && input.shape !== undefined) {
        input.data = readData(cursor, input, signature, limits);
        return input.data !== FAIL;
      }
      input.data = PENDING;
      dataStart = cursor.pos;
      if (!skipData(cursor)) return false;
      dataEnd = cursor.pos;
      return true;
    }
    if (key !== 'name' && key !== 'datatype' && key !== 'shape' && key !== 'parameters') return false;
    const value = cursor.any();
    input[key] = value;
    return value !== FAIL;
  });
  if (!ok) return FAIL;
  if (dataStart >= 0) {
    const end = cursor.pos;
    cursor.pos = dataStart;
    input.data = readData(cursor, input, signature, limits);
    if (input.data === FAIL || cursor.pos !== dataEnd) return FAIL;
    cursor.pos = end;
  }
  return input;
}

/**
 * `data` at the cursor → the input's tensor bytes, when name, datatype and
 * shape are those the model takes (as check-request.ts will find) and every
 * value converts with certainty.
 */
function readData(cursor: JsonCursor, input: Plain, signature: ModelSignature, limits: RequestLimits): DirectData | typeof FAIL {
  const { name, datatype, shape } = input;
  const spec = signature.inputs.find((s) => s.name === name);
  if (!spec || datatype !== spec.datatype || !Array.isArray(shape) || shape.length !== spec.shape.length) return FAIL;
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < shape.length; d++) {
    const dim: unknown = shape[d];
    const declared = spec.shape[d]!;
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0 || (declared >= 0 && dim !== declared)) return FAIL;
    dims.push(dim || 0);
    count *= dim;
  }
  // Every element takes 2 bytes at least ("1,"): a small body cannot make us allocate a huge tensor.
  if (count > limits.maxElements || 2 * count > cursor.bytes.byteLength - cursor.pos) return FAIL;
  const target = tensorTarget(spec.datatype, count);
  if (!target || !readTensorData(cursor, spec.name, dims, count, target)) return FAIL;
  return new DirectData(target.bytes());
}

/** Moves the cursor past a `data` array made only of numbers and literals (no string or object, so brackets pair up). */
function skipData(cursor: JsonCursor): boolean {
  const b = cursor.bytes;
  let depth = 0;
  for (let p = cursor.pos; p < b.byteLength; p++) {
    const c = b[p]!;
    if (c === 0x5b) depth++;
    else if (c === 0x5d && --depth === 0) {
      cursor.pos = p + 1;
      return true;
    } else if (c === 0x22 || c === 0x7b || c === 0x7d) return false;
  }
  return false;
}
