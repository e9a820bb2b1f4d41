// Reads a gzip or deflate request body, decompressing it as it arrives,
// within the same limits as a plain body (body.ts), counted on the
// DECOMPRESSED bytes:
//
//   socket ──wire bytes──▶ zlib (libuv's threads) ──decoded bytes──▶ chunks
//            ≤ maxBytes      paused while zlib is behind     ≤ maxBytes, reservation grown
//
// A zip bomb (1 GB of zeros is about 1 MB of gzip) is refused with 413 as
// soon as its output passes the limit: no more is inflated, and at most
// `maxBytes` of it is ever held. The request's deadline covers the upload
// and the inflation. Input that does not decompress is 400
// GW_ERR_MALFORMED_ENCODING.

import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { InfergateError } from '../../common/errors.ts';
import type { Coding } from './content-coding.ts';

/** How a request body is read: its limit, its deadline and its share of the request budget (body.ts reads plain bodies, this file encoded ones). */
export type ReadBodyOptions = {
  maxBytes: number;
  /** When the request's headers arrived, on the `now` clock. */
  startedMs: number;
  /** The request's time budget from then: its deadline. */
  timeoutMs: number;
  now: () => number;
  /** The request's share of limits.maxBufferedRequestBytes, grown as a body of unknown length arrives. */
  reservation?: { grow(bodyBytes: number): void };
};

/** The decoded body grows its reservation in steps of this many bytes (as a body of unknown length does). */
const RESERVE_STEP_BYTES = 1024 * 1024;

/** zlib's output pieces: four times its default, so a large body takes a quarter of the events. */
const DECODED_CHUNK_BYTES = 64 * 1024;

/**
 * Compressed bytes queued in front of zlib before the socket is paused (zlib's own default would be the
 * chunk size). A bomb's 16 KiB inflate to 16 MiB: the queue stays short so that little is read past the limit.
 */
const QUEUED_WIRE_BYTES = 16 * 1024;

export function readEncodedBody(req: IncomingMessage, coding: Coding, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  return new Promise((resolve, reject) => {
    const zlibOptions = { chunkSize: DECODED_CHUNK_BYTES, writableHighWaterMark: QUEUED_WIRE_BYTES };
    const decoder: Gunzip | Inflate = coding === 'gzip' ? createGunzip(zlibOptions) : createInflate(zlibOptions);
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    let decodedBytes = 0;
    let reservedBytes = Number(req.headers['content-length']) || 0;
    let done = false;
    const finish = (err: InfergateError | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onWire);
      req.off('end', onWireEnd);
      req.off('error', onWireError);
      req.off('aborted', onAborted);
      decoder.off('data', onDecoded);
      decoder.off('end', onDecodedEnd);
      if (err) {
        // onDecodeError stays attached: an error the destroyed decoder still reports is never unhandled.
        decoder.destroy();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, decodedBytes));
    };
    const tooLarge = (bytes: string): void => {
      // Discard the rest instead of pausing: the 413 then reaches a client that is still sending (server.ts
      // closes the connection after it).
      req.resume();
      finish(new InfergateError('GW_ERR_BODY_TOO_LARGE', `${bytes} > limit of ${maxBytes} (server.maxBodyBytes)`));
    };
    const onWire = (chunk: Buffer): void => {
      wireBytes += chunk.byteLength;
      if (wireBytes > maxBytes) return tooLarge(`${wireBytes} bytes of ${coding}`);
      // Back-pressure: the socket waits while zlib is behind, so the wire bytes held stay small.
      if (!decoder.write(chunk)) {
        req.pause();
        decoder.once('drain', () => {
          if (!done) req.resume();
        });
      }
    };
    const onDecoded = (chunk: Buffer): void => {
      decodedBytes += chunk.byteLength;
      if (decodedBytes > maxBytes) return tooLarge(`the ${coding} body decompresses to ${decodedBytes} bytes and more`);
      chunks.push(chunk);
      if (decodedBytes > reservedBytes && options.reservation) {
        reservedBytes = Math.min(maxBytes, Math.ceil(decodedBytes / RESERVE_STEP_BYTES) * RESERVE_STEP_BYTES);
        try {
          options.reservation.grow(reservedBytes);
        } catch (err) {
          req.pause();
          finish(err as InfergateError);
        }
      }
    };
    const onWireEnd = (): void => void decoder.end();
    const onDecodedEnd = (): void => finish(null);
    const onDecodeError = (err: Error): void => finish(new InfergateError('GW_ERR_MALFORMED_ENCODING', `${coding}: ${err.message}`));
    const onWireError = (err: Error): void => finish(new InfergateError('GW_ERR_INVALID_REQUEST', `request body: ${err.message}`));
    const onAborted = (): void => finish(new InfergateError('GW_ERR_INVALID_REQUEST', 'client aborted the request'));
    const timer = setTimeout(() => {
      // Stop reading: the connection closes after the answer (server.ts), so the rest is never inflated.
      req.pause();
      finish(new InfergateError('GW_ERR_BODY_TIMEOUT', `${wireBytes} bytes of the ${coding} body (${decodedBytes} decompressed) had arrived when the request's deadline passed, ${options.timeoutMs} ms after its headers (the upload counts against the deadline)`));
    }, Math.max(0, options.startedMs + options.timeoutMs - options.now()));
    timer.unref();
    decoder.on('data', onDecoded);
    decoder.once('end', onDecodedEnd);
    decoder.on('error', onDecodeError);
    req.on('data', onWire);
    req.once('end', onWireEnd);
    req.once('error', onWireError);
    req.once('aborted', onAborted);
  });
}
