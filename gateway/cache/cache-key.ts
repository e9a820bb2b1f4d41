// The result-cache key: SHA-256 over everything that decides a response —
// model, resolved version, what the model *is* (the digest of its file, so
// two files served under one name and version never share an answer, even
// between gateways sharing Redis), the requested outputs and every input's
// name, datatype, shape and canonical bytes. The bytes are the decoded tensor
// (little-endian, the model's datatype), so the same tensor sent as flat or
// nested JSON, or as 1 vs 1.0 in FP32, gives the same key.
//
// Each field is length-prefixed before hashing so that no two different
// requests can produce the same byte stream (["ab","c"] vs ["a","bc"]).

import { createHash } from 'node:crypto';
import type { TimeSlicer } from '../../common/time-slice.ts';
import type { Tensor } from '../../common/wire.ts';

export type CacheKeyParts = {
  model: string;
  version: string;
  /** SHA-256 of the model file the version was loaded from (ModelSignature.fingerprint). */
  fingerprint: string;
  /** Requested output names; undefined means all outputs. */
  outputs: readonly string[] | undefined;
  tensors: readonly Tensor[];
};

export function cacheKey(parts: CacheKeyParts): string {
  const hash = createHash('sha256');
  visitKeyBytes(parts, (bytes) => hash.update(bytes));
  return hash.digest('hex');
}

/** Hash this many bytes between two pauses: about a millisecond of SHA-256. */
const SLICE_BYTES = 1024 * 1024;

/** cacheKey for large inputs: the same digest, hashed in time slices so that no step holds the event loop long. */
export async function cacheKeySliced(parts: CacheKeyParts, slicer: TimeSlicer): Promise<string> {
  const chunks: Uint8Array[] = [];
  // Small pieces are copied (the length buffer is reused); tensor bytes are kept as they are.
  visitKeyBytes(parts, (bytes) => chunks.push(bytes.byteLength <= 64 ? Uint8Array.from(bytes) : bytes));
  const hash = createHash('sha256');
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.byteLength; offset += SLICE_BYTES) {
      hash.update(chunk.subarray(offset, offset + SLICE_BYTES));
      const paused = slicer.pause();
      if (paused) await paused;
    }
  }
  return hash.digest('hex');
}

/** The byte stream the key hashes, field by field, each length-prefixed (see the top of this file). */
function visitKeyBytes(parts: CacheKeyParts, update: (bytes: Uint8Array) => void): void {
  field(update, parts.model);
  field(update, parts.version);
  field(update, parts.fingerprint);
  // Output order does not change the result set; sort so it does not change the key.
  field(update, parts.outputs === undefined ? '*' : JSON.stringify([...parts.outputs].sort()));
  for (const tensor of parts.tensors) {
    field(update, tensor.name);
    field(update, tensor.datatype);
    field(update, tensor.shape.join(','));
    length(update, tensor.data.byteLength);
    update(tensor.data);
  }
}

function field(update: (bytes: Uint8Array) => void, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  length(update, bytes.byteLength);
  update(bytes);
}

const lengthBuffer = Buffer.alloc(8);
function length(update: (bytes: Uint8Array) => void, n: number): void {
  // Two u32 halves: cheaper than BigInt for the u64 length (lengths stay far below 2^53).
  lengthBuffer.writeUInt32LE(n >>> 0, 0);
  lengthBuffer.writeUInt32LE(Math.floor(n / 2 ** 32), 4);
  update(lengthBuffer);
}
