// Reads a request frame into one contiguous buffer, bounded in size, placed so
// that the frame's tensor bytes start 8-byte aligned.
//
// Why the placement: a frame's tensors follow a JSON header of any length, so
// a frame at offset 0 puts tensor 0 at offset 4 + H, usually not a multiple of
// 4 or 8, and tensor-convert must then copy it before a Float32Array or
// BigInt64Array can view it. The body is copied out of the socket's chunks
// once anyway; shifting that one copy by 0–7 bytes (known from the first four
// bytes, the header length) makes the tensor views free. Tensors after a
// tensor of odd byte length can still be misaligned and are then copied.
// That copy would cost about as much as the rest of the worker's CPU per
// request (docs/performance.md, "Aligned request frames").
//
//   alloc: [pad][H u32][header JSON][tensor 0 …]
//                                    ^ (byteOffset + pad + 4 + H) % 8 === 0

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../common/errors.ts';

const ALIGNMENT = 8;
const LENGTH_PREFIX_BYTES = 4;

/** Resolves with the whole body; rejects with GW_ERR_BODY_TOO_LARGE past maxBytes, or the stream's error. */
export function readFrameBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        cleanup();
        // Stop buffering; the caller answers 413 and closes the connection.
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(alignedFrame(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onAborted = (): void => onError(new Error('client closed the connection mid-body'));
    function cleanup(): void {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** Concatenates chunks into a buffer where the frame's body (after 4 + H bytes) is 8-byte aligned. */
export function alignedFrame(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (total < LENGTH_PREFIX_BYTES) return Buffer.concat(chunks, total);
  const headerLength = readPrefix(chunks);
  const alloc = Buffer.allocUnsafe(total + ALIGNMENT - 1);
  const misalignment = (alloc.byteOffset + LENGTH_PREFIX_BYTES + headerLength) % ALIGNMENT;
  const pad = (ALIGNMENT - misalignment) % ALIGNMENT;
  let offset = pad;
  for (const chunk of chunks) {
    alloc.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return alloc.subarray(pad, pad + total);
}

/** The u32 LE header length, which may straddle chunk boundaries. */
function readPrefix(chunks: readonly Uint8Array[]): number {
  let value = 0;
  let read = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.byteLength && read < LENGTH_PREFIX_BYTES; i++, read++) {
      value += chunk[i]! * 2 ** (8 * read);
    }
    if (read === LENGTH_PREFIX_BYTES) break;
  }
  return value;
}

function tooLarge(maxBytes: number): InfergateError {
  return new InfergateError('GW_ERR_BODY_TOO_LARGE', `the limit is ${maxBytes} bytes`);
}
