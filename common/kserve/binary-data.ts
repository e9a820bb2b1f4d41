// The KServe v2 / Open Inference Protocol binary tensor data extension, as a
// pure codec. A request (or response) body is a JSON header followed by raw
// tensor bytes; the HTTP header Inference-Header-Content-Length gives the
// JSON's length:
//
//   ┌──────────────────────────────┬──────────────┬──────────────┬─────┐
//   │ JSON (header-length bytes)   │ tensor A     │ tensor B     │ …   │
//   │ inputs[i].parameters         │ binary_data_size bytes each, in the │
//   │   .binary_data_size, no data │ order the tensors appear in the JSON│
//   └──────────────────────────────┴──────────────┴──────────────┴─────┘
//
// Tensor bytes are little-endian, row-major, unpadded: BOOL one byte (0 or
// 1), BYTES elements a u32 length then the bytes (the same layout as our
// worker frames, so a binary input travels on without conversion). Outputs
// are sent binary when asked per output (`parameters.binary_data: true`) or
// for all (`binary_data_output: true` in the request's parameters).

import { datatypeByKServe, elementCount, type KServeDatatype } from '../datatypes.ts';
import { InfergateError } from '../errors.ts';
import type { TimeSlicer } from '../time-slice.ts';
import { describe } from './describe.ts';
import { runInSteps } from './sliced-steps.ts';

/** HTTP header (lower case, as node reads it) with the JSON header's byte length. */
export const HEADER_LENGTH_HEADER = 'inference-header-content-length';
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** Splits a body into its JSON header and binary section; `headerLength` is the HTTP header's text. */
export function splitBinaryBody(body: Uint8Array, headerLength: string): { json: Uint8Array; binary: Uint8Array } {
  const length = /^\d{1,15}$/.test(headerLength.trim()) ? Number(headerLength.trim()) : NaN;
  if (!(length <= body.byteLength)) {
    throw new InfergateError('GW_ERR_BINARY_HEADER_LENGTH', `Inference-Header-Content-Length is ${JSON.stringify(headerLength)}; the body has ${body.byteLength} bytes`);
  }
  return { json: body.subarray(0, length), binary: body.subarray(length) };
}

/** An input's `binary_data_size` parameter, undefined when it has none. */
export function binaryDataSize(name: string, parameters: Record<string, unknown> | undefined): number | undefined {
  const size = parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `input "${name}": "binary_data_size" must be a non-negative integer, not ${describe(size)}`);
  }
  return size;
}

/** Hands out the binary section tensor by tensor, in JSON order; `finish` refuses bytes nobody claimed. */
export class BinarySection {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  take(name: string, size: number): Uint8Array {
    const left = this.#bytes.byteLength - this.#offset;
    if (size > left) throw binaryData(`input "${name}" declares ${size} bytes but only ${left} are left in the body`);
    const slice = this.#bytes.subarray(this.#offset, this.#offset + size);
    this.#offset += size;
    return slice;
  }

  finish(): void {
    const left = this.#bytes.byteLength - this.#offset;
    if (left > 0) throw binaryData(`${left} bytes after the last tensor belong to no input (binary_data_size values add up to ${this.#offset})`);
  }
}

/** Checks raw bytes against a datatype and a shape; returns the element count. */
export function checkBinaryTensor(name: string, datatype: KServeDatatype, shape: readonly number[], bytes: Uint8Array): number {
  const check = new BinaryTensorCheck(name, datatype, shape, bytes);
  while (!check.step(Number.POSITIVE_INFINITY));
  return check.count;
}

/** checkBinaryTensor in time slices: the BOOL and BYTES walks are O(bytes). */
export async function checkBinaryTensorSliced(name: string, datatype: KServeDatatype, shape: readonly number[], bytes: Uint8Array, slicer: TimeSlicer): Promise<number> {
  const check = new BinaryTensorCheck(name, datatype, shape, bytes);
  await runInSteps((maxBytes) => check.step(maxBytes), slicer);
  return check.count;
}

/** One binary tensor's checks as resumable steps, so both entry points above share them. */
class BinaryTensorCheck {
  readonly #name: string;
  readonly #datatype: KServeDatatype;
  readonly #shape: readonly number[];
  readonly #bytes: Uint8Array;
  readonly count: number;
  /** Next byte to read (BOOL) or the next BYTES element's length word. */
  #offset = 0;
  #found = 0;

  constructor(name: string, datatype: KServeDatatype, shape: readonly number[], bytes: Uint8Array) {
    this.#name = name;
    this.#datatype = datatype;
    this.#shape = shape;
    this.#bytes = bytes;
    this.count = elementCount(shape);
    const size = datatypeByKServe(datatype)!.bytesPerElement;
    if (datatype !== 'BYTES' && bytes.byteLength !== this.count * size) {
      throw binaryData(`input "${name}" has ${bytes.byteLength} bytes but shape [${shape.join(',')}] of ${datatype} needs ${this.count * size}`);
    }
  }

  /** Reads about `maxBytes` more; true when the tensor was checked to its end. */
  step(maxBytes: number): boolean {
    if (this.#datatype === 'BOOL') return this.#boolStep(maxBytes);
    if (this.#datatype === 'BYTES') return this.#bytesStep(maxBytes);
    return true;
  }

  #boolStep(maxBytes: number): boolean {
    const bytes = this.#bytes;
    const end = Math.min(bytes.byteLength, this.#offset + maxBytes);
    for (let i = this.#offset; i < end; i++) {
      if (bytes[i]! > 1) throw binaryData(`input "${this.#name}" element ${i} is byte ${bytes[i]}; BOOL is 0 or 1`);
    }
    this.#offset = end;
    return end === bytes.byteLength;
  }

  // Walks the u32 length words of the BYTES layout without copying an element.
  #bytesStep(maxBytes: number): boolean {
    const bytes = this.#bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const limit = Math.min(bytes.byteLength, this.#offset + maxBytes);
    let offset = this.#offset;
    let found = this.#found;
    while (offset < limit) {
      if (offset + 4 > bytes.byteLength) throw binaryData(`input "${this.#name}" BYTES element ${found} has a truncated length`);
      offset += 4 + view.getUint32(offset, true);
      if (offset > bytes.byteLength) throw binaryData(`input "${this.#name}" BYTES element ${found} runs past the end of its data`);
      found++;
    }
    this.#offset = offset;
    this.#found = found;
    if (offset < bytes.byteLength) return false;
    if (found !== this.count) throw binaryData(`input "${this.#name}" holds ${found} BYTES elements but shape [${this.#shape.join(',')}] holds ${this.count}`);
    return true;
  }
}

/** A boolean parameter of the extension (`binary_data`, `binary_data_output`), undefined when absent. */
export function booleanParameter(parameters: Record<string, unknown> | undefined, key: string, where: string): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new InfergateError('GW_ERR_INVALID_REQUEST', `${where}: "${key}" must be true or false, not ${describe(value)}`);
}

/**
 * The JSON header and the binary outputs' bytes as one body, with the header's length for
 * Inference-Header-Content-Length: one allocation, the header text encoded straight into it and each tensor copied once.
 */
export function joinBinaryBody(json: { text: string; ascii: boolean }, tensors: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  const encoding = json.ascii ? 'latin1' : 'utf8';
  const headerLength = json.ascii ? json.text.length : Buffer.byteLength(json.text);
  let bytes = headerLength;
  for (const tensor of tensors) bytes += tensor.byteLength;
  const body = Buffer.allocUnsafe(bytes);
  let offset = body.write(json.text, 0, encoding);
  for (const tensor of tensors) {
    body.set(tensor, offset);
    offset += tensor.byteLength;
  }
  return { body, headerLength };
}

function binaryData(detail: string): InfergateError {
  return new InfergateError('GW_ERR_BINARY_DATA', detail);
}

/** BYTES elements in the binary layout: each one's 4-byte little-endian length, then its bytes (fronts whose protocol sends the elements apart: gRPC, TF Serving's b64). */
export function lengthPrefixed(elements: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.allocUnsafe(elements.reduce((sum, e) => sum + 4 + e.byteLength, 0));
  let offset = 0;
  for (const element of elements) {
    out.writeUInt32LE(element.byteLength, offset);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}
