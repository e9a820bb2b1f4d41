// Compressing answers for clients that ask (Accept-Encoding), on libuv's
// thread pool so that the event loop never runs deflate itself. server.ts
// decides when: an answer of at least server.compression.minBytes to a
// client that asked, not already encoded, not to HEAD.
//
// Level 1 (zlib's fastest): on a 198 KB JSON answer of random FP32s it gave
// 47% of the size in 2.4 ms, where the default level 6 gave 45% in 7.3 ms.
// Tensor data compresses little beyond what any level finds; CPU per
// request is what a gateway runs out of.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createDeflate, createGzip, deflate, gzip, type Deflate, type Gzip } from 'node:zlib';
import type { Coding } from './content-coding.ts';

const LEVEL = constants.Z_BEST_SPEED;

/** A whole answer compressed (off the event loop). */
export function compressBody(payload: Buffer | string, coding: Coding): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, result: Buffer): void => (err ? reject(err) : resolve(result));
    if (coding === 'gzip') gzip(payload, { level: LEVEL }, done);
    else deflate(payload, { level: LEVEL }, done);
  });
}

/**
 * An answer's pieces, compressed as they come: read it to pull them through (back-pressure reaches the
 * source). A source that fails ends it with that error; destroy it to stop the source early.
 */
export function compressPieces(pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, coding: Coding): Gzip | Deflate {
  const zip = coding === 'gzip' ? createGzip({ level: LEVEL }) : createDeflate({ level: LEVEL });
  // pipeline destroys zip with the source's error (its reader then throws it) and ends the source when zip is destroyed.
  pipeline(Readable.from(pieces), zip).catch(() => {});
  return zip;
}
