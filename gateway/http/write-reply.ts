// Writes a Reply (reply.ts) onto an HTTP response: its framing (a length, or
// chunks), the request's id, and, when the request calls for them, a
// compressed body (Accept-Encoding) and CORS headers. A request that calls
// for neither takes the plain path, unchanged by either feature.

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Coding } from './content-coding.ts';
import { compressBody, compressPieces } from './compression.ts';
import type { Reply } from './reply.ts';

/** What a request adds to the plain way of answering it. */
export type AnswerShape = {
  /** The coding the client accepts, to use for an answer of at least `minBytes`; undefined: none. */
  coding: Coding | undefined;
  minBytes: number;
  /** Headers every answer to it carries (CORS). */
  headers: Record<string, string> | undefined;
};

/**
 * Every answer, refusals included, carries the request's id. It goes in writeHead's object, not setHeader: a
 * response with no header set before writeHead takes Node's fast path (the object becomes the headers as is).
 * Never rejects: a failure after the headers went out cuts the answer.
 */
export function sendReply(res: ServerResponse, reply: Reply, requestId: string, shape?: AnswerShape): void | Promise<void> {
  if (res.headersSent || isGone(res)) return;
  if (shape !== undefined || reply.status === 204) return sendShaped(res, reply, requestId, shape);
  if ('parts' in reply) {
    return sendParts(res, reply.status, { 'content-type': 'application/json', ...reply.headers, 'content-length': lengthOf(reply.parts), 'x-request-id': requestId }, reply.parts);
  }
  if ('stream' in reply) return sendStream(res, reply.status, { 'content-type': 'application/json', ...reply.headers, 'x-request-id': requestId }, reply.stream);
  const payload = payloadOf(reply.body);
  // An ASCII text body is written as latin1 (one byte per char, no UTF-8 pass), in the same write as the headers.
  const ascii = reply.ascii === true && typeof payload === 'string';
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    ...reply.headers,
    'content-length': ascii ? payload.length : Buffer.byteLength(payload),
    'x-request-id': requestId,
  });
  res.end(payload, ascii ? 'latin1' : 'utf8');
}

/** Whether the response can no longer be written (an HTTP/2 compatibility response says so on its stream). */
export function isGone(res: ServerResponse): boolean {
  return res.destroyed || (res as { stream?: { destroyed: boolean } }).stream?.destroyed === true;
}

/** A connection-level header only HTTP/1.x may carry (HTTP/2 forbids them; its streams end by themselves). */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMajor < 2) res.setHeader('connection', 'close');
}

async function sendShaped(res: ServerResponse, reply: Reply, requestId: string, shape: AnswerShape | undefined): Promise<void> {
  const { status } = reply;
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', ...shape?.headers, ...reply.headers, 'x-request-id': requestId };
  const vary = [shape?.headers?.vary, reply.headers?.vary];
  // An answer that is already encoded (a forwarded one) is sent as it is.
  const coding = reply.headers?.['content-encoding'] === undefined ? shape?.coding : undefined;
  const minBytes = shape?.minBytes ?? Infinity;
  try {
    if (status === 204) {
      // No content: no body framing either (RFC 9110 §8.6 forbids Content-Length on a 204).
      delete headers['content-type'];
      res.writeHead(status, withVary(headers, vary));
      res.end();
      return;
    }
    if ('stream' in reply || 'parts' in reply) {
      const length = 'parts' in reply ? lengthOf(reply.parts) : Infinity;
      if (coding !== undefined && length >= minBytes) {
        // Compressed as it is written: its length is known only at the end, so it goes chunked.
        const zip = compressPieces('parts' in reply ? reply.parts : reply.stream, coding);
        try {
          await sendStream(res, status, withVary({ ...headers, 'content-encoding': coding }, [...vary, 'Accept-Encoding']), zip);
        } finally {
          zip.destroy();
        }
        return;
      }
      if ('parts' in reply) await sendParts(res, status, withVary({ ...headers, 'content-length': length }, vary), reply.parts);
      else await sendStream(res, status, withVary(headers, vary), reply.stream);
      return;
    }
    const payload = payloadOf(reply.body);
    const bytes = Buffer.byteLength(payload);
    if (coding !== undefined && bytes >= minBytes) {
      const zipped = await compressBody(payload, coding);
      if (res.headersSent || isGone(res)) return;
      res.writeHead(status, withVary({ ...headers, 'content-encoding': coding, 'content-length': zipped.byteLength }, [...vary, 'Accept-Encoding']));
      res.end(zipped);
      return;
    }
    res.writeHead(status, withVary({ ...headers, 'content-length': bytes }, vary));
    res.end(payload);
  } catch (err) {
    // Headers may be gone: the client can only learn of the failure by a cut answer.
    res.destroy(err as Error);
  }
}

/** The headers with one Vary naming each request header the answer depends on (none: no Vary). */
function withVary(headers: OutgoingHttpHeaders, values: ReadonlyArray<string | undefined>): OutgoingHttpHeaders {
  const names = new Set<string>();
  for (const value of values) for (const name of value?.split(',') ?? []) if (name.trim() !== '') names.add(name.trim());
  if (names.size === 0) delete headers.vary;
  else headers.vary = [...names].join(', ');
  return headers;
}

function payloadOf(body: Buffer | string | object): Buffer | string {
  return Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
}

function lengthOf(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  return length;
}

async function sendParts(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, parts: readonly Uint8Array[]): Promise<void> {
  res.writeHead(status, headers);
  for (const part of parts) if (!(await write(res, part))) return;
  res.end();
}

async function sendStream(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, stream: AsyncIterable<Uint8Array>): Promise<void> {
  // No content-length: Node sends the pieces chunked as they are rendered.
  res.writeHead(status, headers);
  try {
    for await (const piece of stream) if (!(await write(res, piece))) return;
  } catch (err) {
    // Headers are gone: the client can only learn of the failure by a cut answer.
    res.destroy(err as Error);
    return;
  }
  res.end();
}

/** Writes with back-pressure; false once the client is gone. */
async function write(res: ServerResponse, piece: Uint8Array): Promise<boolean> {
  if (isGone(res)) return false;
  if (res.write(piece)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !isGone(res);
}
