// Reads a request body into one buffer, within a size limit and the
// request's deadline:
//
// - a declared Content-Length over the limit is refused before reading, and
//   a body that grows past it while streaming is cut off at the limit, so a
//   client can never make the gateway buffer more than the limit;
// - the deadline covers the upload: a body still arriving when it passes is
//   answered 408 (GW_ERR_BODY_TIMEOUT) with how much came, and no more of it
//   is read (a client sending 8 bytes a second must not hold a request, and
//   its memory, for minutes);
// - with a Content-Length the buffer is allocated once and each chunk is
//   copied in as it arrives: no concatenation of a large body in one step
//   (touching tens of fresh megabytes at once costs milliseconds of page
//   faults on the event loop);
// - a gzip or deflate body (Content-Encoding) is decompressed as it arrives,
//   with the limit on what it decompresses to (encoded-body.ts); another
//   coding is refused (415) before anything is read.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';
import { requestCoding, type Coding } from './content-coding.ts';
import { readEncodedBody, type ReadBodyOptions } from './encoded-body.ts';

export type { ReadBodyOptions };

/** A body of unknown length grows its reservation in steps of this many bytes. */
const RESERVE_STEP_BYTES = 1024 * 1024;

export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(tooLarge(declared, maxBytes));
  }
  // One lookup on the common path: a body without Content-Encoding reads as it always did.
  const contentEncoding = req.headers['content-encoding'];
  if (contentEncoding !== undefined) {
    let coding: Coding | undefined;
    try {
      coding = requestCoding(contentEncoding);
    } catch (err) {
      return Promise.reject(err);
    }
    if (coding !== undefined) return readEncodedBody(req, coding, options);
  }
  const expected = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  return new Promise((resolve, reject) => {
    const target = expected === undefined ? undefined : Buffer.allocUnsafe(expected);
    const chunks: Buffer[] = [];
    let received = 0;
    let reservedBytes = expected ?? 0;
    const finish = (err: InfergateError | null, body?: Buffer): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.byteLength > maxBytes) {
        // Discard the rest instead of pausing: the 413 answer then reaches a
        // client that is still sending, rather than a reset connection.
        req.resume();
        finish(tooLarge(received + chunk.byteLength, maxBytes));
        return;
      }
      if (target) target.set(chunk, received);
      else chunks.push(chunk);
      received += chunk.byteLength;
      if (received > reservedBytes && options.reservation) {
        reservedBytes = Math.min(maxBytes, Math.ceil(received / RESERVE_STEP_BYTES) * RESERVE_STEP_BYTES);
        try {
          options.reservation.grow(reservedBytes);
        } catch (err) {
          req.pause();
          finish(err as InfergateError);
        }
      }
    };
    const onEnd = (): void => finish(null, target ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)));
    const onError = (err: Error): void => finish(new InfergateError('GW_ERR_INVALID_REQUEST', `request body: ${err.message}`));
    const onAborted = (): void => finish(new InfergateError('GW_ERR_INVALID_REQUEST', 'client aborted the request'));
    const timer = setTimeout(() => {
      // Stop reading: the connection closes after the answer (server.ts), so the rest is never buffered.
      req.pause();
      const of = expected === undefined ? '' : ` of ${expected}`;
      finish(new InfergateError('GW_ERR_BODY_TIMEOUT', `${received}${of} bytes of the body had arrived when the request's deadline passed, ${options.timeoutMs} ms after its headers (the upload counts against the deadline)`));
    }, Math.max(0, options.startedMs + options.timeoutMs - options.now()));
    timer.unref();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}

function tooLarge(bytes: number, maxBytes: number): InfergateError {
  return new InfergateError('GW_ERR_BODY_TOO_LARGE', `${bytes} bytes > limit of ${maxBytes} (server.maxBodyBytes)`);
}
