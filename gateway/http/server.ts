// The gateway's HTTP front: routes each request to its handler, turns every
// thrown error into a catalogued JSON answer, counts requests in flight and
// drains them on close. The handlers hold the KServe logic; this file holds
// only the HTTP mechanism.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { asInfergateError, errorBody, InfergateError } from '../../common/errors.ts';
import { httpStatusOf } from '../../common/http-status.ts';
import type { Logger } from '../../common/logger.ts';
import { newRequestRecord, type RequestObserver, type RequestRecord } from '../telemetry/request-record.ts';
import { saneTraceparent } from '../telemetry/trace-context.ts';
import type { HandleRoute, Reply } from './reply.ts';
import { requestIdOf, requestIds } from './request-id.ts';
import { RequestBudget, type Reservation } from './request-budget.ts';
import { matchRoute } from './routes.ts';

export type HttpFrontOptions = {
  /** Answers one routed request (handlers.ts). */
  handle: HandleRoute;
  /** Requests handled at once at most; beyond, 503 GW_ERR_OVERLOADED before the body is read. */
  maxInFlightRequests: number;
  /** Bytes of request bodies (and what they decode to) held at once; default: unbounded. */
  budget?: RequestBudget;
  logger: Logger;
  /** Told of every inference request when its answer is sent (metrics, statistics, access log, spans). */
  observe?: RequestObserver;
  /** Called as an inference request starts, e.g. to open its trace span (and set the traceparent its worker joins). */
  begin?: (record: RequestRecord) => void;
  now?: () => number;
  /** A new request id, for a request that brings none (or an insane one); default: requestIds(). */
  newRequestId?: () => string;
};

/** Counts of what the front did with requests since it started. */
/** `shed` is both refusals before reading a body: over maxInFlightRequests (shedInFlight) or the body budget (shedBodyBudget). */
export type HttpFrontStats = { accepted: number; answered: number; shed: number; shedInFlight: number; shedBodyBudget: number; refusedWhileDraining: number; inFlight: number };

/** An unread request body up to this size is drained after an early answer instead of closing the connection. */
const DISCARD_BODY_MAX_BYTES = 1024 * 1024;

export class HttpFront {
  readonly server: Server;
  readonly #answer: HandleRoute;
  readonly #logger: Logger;
  readonly #maxInFlight: number;
  readonly #budget: RequestBudget;
  readonly #observe: RequestObserver | undefined;
  readonly #begin: ((record: RequestRecord) => void) | undefined;
  readonly #now: () => number;
  readonly #newRequestId: () => string;
  #inFlight = 0;
  #accepted = 0;
  #answered = 0;
  #shedInFlight = 0;
  #shedBodyBudget = 0;
  #refusedWhileDraining = 0;
  #draining = false;

  constructor(options: HttpFrontOptions) {
    this.#answer = options.handle;
    this.#logger = options.logger;
    this.#maxInFlight = options.maxInFlightRequests;
    this.#budget = options.budget ?? new RequestBudget(Number.MAX_SAFE_INTEGER);
    this.#observe = options.observe;
    this.#begin = options.begin;
    this.#now = options.now ?? (() => performance.now());
    this.#newRequestId = options.newRequestId ?? requestIds();
    this.server = createServer({ keepAliveTimeout: 65_000 }, this.onRequest);
  }

  /** The server's request listener: another server (the leader's control socket) can answer through this front too. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);

  get inFlight(): number {
    return this.#inFlight;
  }

  stats(): HttpFrontStats {
    const shedInFlight = this.#shedInFlight;
    const shedBodyBudget = this.#shedBodyBudget;
    return { accepted: this.#accepted, answered: this.#answered, shed: shedInFlight + shedBodyBudget, shedInFlight, shedBodyBudget, refusedWhileDraining: this.#refusedWhileDraining, inFlight: this.#inFlight };
  }

  /**
   * Stops taking new requests (new connections are refused; requests arriving
   * on kept-alive connections get 503) and resolves once every accepted
   * request has been answered or `graceMs` passed. Idempotent.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    // Stop accepting; idle kept-alive connections close now, busy ones after their answer (sent with connection: close).
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([closed, graceOver]);
    clearTimeout(timer);
    this.server.closeAllConnections();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The client's request id when sane, else a new one; send() echoes it on every answer, refusals included.
    const record = newRequestRecord(requestIdOf(req.headers['x-request-id'], this.#newRequestId), 'rest', this.#now(), saneTraceparent(req.headers.traceparent));
    const id = record.id;
    if (this.#draining) {
      this.#refusedWhileDraining++;
      res.setHeader('connection', 'close');
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_SHUTTING_DOWN')) }, id);
      req.resume();
      return;
    }
    if (this.#inFlight >= this.#maxInFlight) {
      // Shed before reading the body: memory stays bounded however many clients push.
      this.#shedInFlight++;
      res.setHeader('retry-after', '1');
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_OVERLOADED', `${this.#inFlight} requests in flight`)) }, id);
      req.resume();
      return;
    }
    let reservation: Reservation;
    try {
      reservation = this.#budget.reserve(declaredBodyBytes(req));
    } catch (err) {
      // Shed before reading the body, as for the in-flight cap: its bytes never enter the process.
      this.#shedBodyBudget++;
      const error = asInfergateError(err);
      res.setHeader('retry-after', String(error.retryAfterSeconds ?? 1));
      res.setHeader('connection', 'close');
      send(res, { status: httpStatusOf(error), body: errorBody(error) }, id);
      return;
    }
    this.#accepted++;
    this.#inFlight++;
    let observed = false;
    try {
      const route = matchRoute(req.method ?? 'GET', req.url ?? '/');
      observed = route.name === 'infer' && this.#observe !== undefined;
      if (observed) this.#begin?.(record);
      let reply: Reply;
      try {
        reply = await this.#answer(route, req, reservation, record);
      } finally {
        // The body and its decoded tensors are no longer needed once the answer exists.
        reservation.release();
      }
      // Draining: the connection ends after this answer (Node closes it once the answer is written).
      if (this.#draining) res.setHeader('connection', 'close');
      record.status = reply.status;
      await send(res, reply, id);
    } catch (err) {
      const error = asInfergateError(err);
      if (error.code === 'GW_ERR_INTERNAL') this.#logger.error({ requestId: record.id, method: req.method, url: req.url, err }, 'internal error');
      // A body we stopped reading cannot be followed by another request on this connection.
      if (this.#draining) res.setHeader('connection', 'close');
      else if (!req.complete) {
        // A body left unread (refused before reading it): a small one is read and dropped so the connection
        // stays usable; a large or oversized one ends the connection instead.
        // A timed-out (slow) or oversized body is never read on: the connection ends instead.
        const declaredBytes = Number(req.headers['content-length'] ?? Infinity);
        if (error.kind !== 'too_large' && error.kind !== 'slow_client' && error.code !== 'GW_ERR_OVERLOADED' && declaredBytes <= DISCARD_BODY_MAX_BYTES) req.resume();
        else res.setHeader('connection', 'close');
      }
      if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
      // Basic too: a browser (the status page) can only be asked for a password, never for a bearer token.
      if (error.kind === 'unauthenticated') res.setHeader('www-authenticate', ['Basic realm="infergate admin"', 'Bearer realm="infergate admin"']);
      record.status = httpStatusOf(error);
      record.code = error.code;
      send(res, { status: record.status, body: errorBody(error) }, id);
    } finally {
      this.#answered++;
      this.#inFlight--;
      if (observed) {
        record.endedMs = this.#now();
        this.#observe!(record);
      }
    }
  }
}

/**
 * Every answer, refusals included, carries the request's id. It goes in writeHead's object, not setHeader: a
 * response with no header set before writeHead takes Node's fast path (the object becomes the headers as is).
 */
function send(res: ServerResponse, reply: Reply, requestId: string): void | Promise<void> {
  if (res.headersSent || res.destroyed) return;
  if ('parts' in reply) return sendParts(res, reply.status, reply.headers, reply.parts, requestId);
  if ('stream' in reply) return sendStream(res, reply.status, reply.headers, reply.stream, requestId);
  const isBytes = Buffer.isBuffer(reply.body) || typeof reply.body === 'string';
  const payload = isBytes ? (reply.body as Buffer | string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    ...reply.headers,
    'content-length': Buffer.byteLength(payload),
    'x-request-id': requestId,
  });
  res.end(payload);
}

async function sendParts(res: ServerResponse, status: number, headers: Record<string, string> | undefined, parts: readonly Uint8Array[], requestId: string): Promise<void> {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': length, 'x-request-id': requestId });
  for (const part of parts) if (!(await write(res, part))) return;
  res.end();
}

async function sendStream(res: ServerResponse, status: number, headers: Record<string, string> | undefined, stream: AsyncIterable<Uint8Array>, requestId: string): Promise<void> {
  // No content-length: Node sends the pieces chunked as they are rendered.
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'x-request-id': requestId });
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
  if (res.destroyed) return false;
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
  return !res.destroyed;
}

/** The body bytes a request declares (0 for none, or for a body of unknown length, which grows its reservation as it arrives). */
function declaredBodyBytes(req: IncomingMessage): number {
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
}
