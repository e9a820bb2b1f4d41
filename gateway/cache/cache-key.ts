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

import { createHash, type Hash } from 'node:crypto';
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
  field(hash, parts.model);
  field(hash, parts.version);
  field(hash, parts.fingerprint);
  // Output order does not change the result set; sort so it does not change the key.
  field(hash, parts.outputs === undefined ? '*' : JSON.stringify([...parts.outputs].sort()));
  for (const tensor of parts.tensors) {
    field(hash, tensor.name);
    field(hash, tensor.datatype);
    field(hash, tensor.shape.join(','));
    length(hash, tensor.data.byteLength);
    hash.update(tensor.data);
  }
  return hash.digest('hex');
}

function field(hash: Hash, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  length(hash, bytes.byteLength);
  hash.update(bytes);
}

const lengthBuffer = Buffer.alloc(8);
function length(hash: Hash, n: number): void {
  // Two u32 halves: cheaper than BigInt for the u64 length (lengths stay far below 2^53).
  lengthBuffer.writeUInt32LE(n >>> 0, 0);
  lengthBuffer.writeUInt32LE(Math.floor(n / 2 ** 32), 4);
  hash.update(lengthBuffer);
}
