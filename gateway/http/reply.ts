// What an HTTP handler answers; the front (server.ts) writes it.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { RequestRecord } from '../telemetry/request-record.ts';
import type { Reservation } from './request-budget.ts';
import type { Route } from './routes.ts';

/** Answers one routed request, or throws a catalogued error; a promise for routes that wait. `record` is written down as it runs; `res` is for a route that proxies (the front still writes the answer). */
export type HandleRoute = (route: Route, req: IncomingMessage, reservation: Reservation, record: RequestRecord, res: ServerResponse) => Reply | Promise<Reply>;

/**
 * An answer: a body sent at once (bytes, or an object sent as JSON), the parts of a body of known length written
 * one after the other (large binary tensors, never concatenated), or a stream of pieces of unknown total length
 * (large JSON rendered in slices; sent chunked). Parts and pieces are written with back-pressure.
 */
export type Reply = { status: number; headers?: Record<string, string> } & (
  | { body: Buffer | string | object; /** The string body is known to be ASCII: its length is its byte length, written as latin1. */ ascii?: boolean }
  | { parts: readonly Uint8Array[] }
  | { stream: AsyncIterable<Uint8Array> }
);

/** The named headers of an answer a route passes on from another server (the front sets its own framing and request id). */
export function passedHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (headers[name] === undefined ? [] : [[name, String(headers[name])]])));
}
