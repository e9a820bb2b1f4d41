// The gateway's HTTP front: routes each request to its handler, turns every
// thrown error into a catalogued JSON answer, counts requests in flight and
// drains them on close. The handlers hold the KServe logic; this file holds
// only the HTTP mechanism (write-reply.ts writes the answers).
//
// Besides HTTP/1.1 it answers, as configured: `Expect: 100-continue` (the 100
// goes out only once the request may go on), OPTIONS preflights and CORS
// headers (cors.ts), compressed answers (compression.ts) and h2c (h2c.ts).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import { asInfergateError, errorBody, InfergateError } from '../../common/errors.ts';
import { httpStatusOf } from '../../common/http-status.ts';
import type { Logger } from '../../common/logger.ts';
import { newRequestRecord, type RequestObserver, type RequestRecord } from '../telemetry/request-record.ts';
import { saneTraceparent } from '../telemetry/trace-context.ts';
import { acceptedCoding, type Coding } from './content-coding.ts';
import { corsAnswerHeaders, optionsReply, type CorsConfig } from './cors.ts';
import type { H2cAcceptor } from './h2c.ts';
import { createFrontServer, type ConnectionTimeouts, type FrontServerOptions, type RefusedConnections } from './front-server.ts';
import type { HandleRoute, Reply } from './reply.ts';
import { requestIdOf, requestIds } from './request-id.ts';
import { RequestBudget, type Reservation } from './request-budget.ts';
import { headerText } from './infer-headers.ts';
import { inferenceProtocol, matchRoute, MethodNotAllowedError } from './routes.ts';
import { closeAfterAnswer, sendReply as send, type AnswerShape } from './write-reply.ts';

export type { ConnectionTimeouts };

/** The options of the server itself (timeouts, header and connection limits, h2c) are front-server.ts's. */
export type HttpFrontOptions = FrontServerOptions & {
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
  /** The largest body any route takes (server.maxBodyBytes): `Expect: 100-continue` declaring more gets 413 without the 100. Default: unbounded. */
  maxBodyBytes?: number;
  /** Answers of at least `minBytes` go compressed to clients that accept gzip or deflate (server.compression); default: none. */
  compression?: { minBytes: number };
  /** Cross-origin policy (server.cors); default: none (OPTIONS is then 405, as any method a path does not take). */
  cors?: CorsConfig;
};

/** Counts of what the front did with requests since it started. `shed` is both refusals before reading a body: over maxInFlightRequests (shedInFlight) or the body budget (shedBodyBudget). */
export type HttpFrontStats = { accepted: number; answered: number; shed: number; shedInFlight: number; shedBodyBudget: number; refusedWhileDraining: number; inFlight: number; refusedConnections: RefusedConnections };

/** An unread request body up to this size is drained after an early answer instead of closing the connection. */
const DISCARD_BODY_MAX_BYTES = 1024 * 1024;

export class HttpFront {
  readonly server: Server;
  /** With TLS (options.tls): the same server as a tls.Server, whose certificate a reload replaces. */
  readonly secureServer: TlsServer | undefined;
  readonly #answer: HandleRoute;
  readonly #logger: Logger;
  readonly #maxInFlight: number;
  readonly #budget: RequestBudget;
  readonly #observe: RequestObserver | undefined;
  readonly #begin: ((record: RequestRecord) => void) | undefined;
  readonly #now: () => number;
  readonly #newRequestId: () => string;
  readonly #maxBodyBytes: number;
  readonly #compression: { minBytes: number } | undefined;
  readonly #cors: CorsConfig | undefined;
  readonly #h2c: H2cAcceptor | undefined;
  readonly #maxHeadersCount: number;
  readonly #refused: () => RefusedConnections;
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
    this.#maxBodyBytes = options.maxBodyBytes ?? Infinity;
    this.#compression = options.compression;
    this.#cors = options.cors?.enabled ? options.cors : undefined;
    this.#maxHeadersCount = options.maxHeadersCount ?? Infinity;
    ({ server: this.server, h2c: this.#h2c, refused: this.#refused, secure: this.secureServer } = createFrontServer(options, this.onRequest, this.#onCheckContinue));
  }


  /** The server's request listener: another server (the leader's control socket) can answer through this front too. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res, false);

  readonly #onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res, true);

  get inFlight(): number {
    return this.#inFlight;
  }

  stats(): HttpFrontStats {
    const shedInFlight = this.#shedInFlight;
    const shedBodyBudget = this.#shedBodyBudget;
    return { accepted: this.#accepted, answered: this.#answered, shed: shedInFlight + shedBodyBudget, shedInFlight, shedBodyBudget, refusedWhileDraining: this.#refusedWhileDraining, inFlight: this.#inFlight, refusedConnections: this.#refused() };
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
    // HTTP/2 connections get GOAWAY: their running streams finish, and the connection closes after them.
    this.#h2c?.close();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([closed, graceOver]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    this.#h2c?.destroy();
  }

  /**
   * What this request adds to the plain way of answering: a compressed body for a client that accepts one,
   * CORS headers for a page's request. Undefined (the plain path) for most: a header lookup each is their cost.
   */
  #shapeOf(req: IncomingMessage): AnswerShape | undefined {
    let coding: Coding | undefined;
    if (this.#compression !== undefined && req.method !== 'HEAD') {
      const accepted = req.headers['accept-encoding'];
      if (accepted !== undefined) coding = acceptedCoding(accepted);
    }
    let headers: Record<string, string> | undefined;
    if (this.#cors !== undefined) {
      const origin = headerText(req, 'origin');
      if (origin !== undefined) headers = corsAnswerHeaders(this.#cors, origin, req.url ?? '/');
    }
    if (coding === undefined && headers === undefined) return undefined;
    return { coding, minBytes: this.#compression?.minBytes ?? Infinity, headers };
  }

  async #handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    // The client's request id when sane, else a new one; send() echoes it on every answer, refusals included.
    const record = newRequestRecord(requestIdOf(req.headers['x-request-id'], this.#newRequestId), 'rest', this.#now(), saneTraceparent(req.headers.traceparent));
    const id = record.id;
    const shape = this.#shapeOf(req);
    if (this.#draining) {
      this.#refusedWhileDraining++;
      closeAfterAnswer(req, res);
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_SHUTTING_DOWN')) }, id, shape);
      req.resume();
      return;
    }
    // Pairs of raw headers first: counting them without pseudo-headers is needed only near the limit.
    if (req.rawHeaders.length / 2 > this.#maxHeadersCount && headerCount(req) > this.#maxHeadersCount) {
      // Refused whatever its route: a client sending that many headers is not one to keep a connection for.
      closeAfterAnswer(req, res);
      const error = new InfergateError('GW_ERR_HEADERS_TOO_LARGE', `more than ${this.#maxHeadersCount} header fields (server.maxHeadersCount)`);
      send(res, { status: httpStatusOf(error), body: errorBody(error) }, id, shape);
      req.resume();
      return;
    }
    if (this.#inFlight >= this.#maxInFlight) {
      // Shed before reading the body: memory stays bounded however many clients push.
      this.#shedInFlight++;
      res.setHeader('retry-after', '1');
      // Refused before its 100: the client may send its body later or never, so the connection cannot be reused.
      if (expectsContinue) closeAfterAnswer(req, res);
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_OVERLOADED', `${this.#inFlight} requests in flight`)) }, id, shape);
      req.resume();
      return;
    }
    const declaredBytes = declaredBodyBytes(req);
    if (expectsContinue && declaredBytes > this.#maxBodyBytes) {
      // RFC 9110 §10.1.1: a final status instead of the 100, so the client never sends a body that would be refused.
      closeAfterAnswer(req, res);
      const error = new InfergateError('GW_ERR_BODY_TOO_LARGE', `${declaredBytes} bytes declared > limit of ${this.#maxBodyBytes} (server.maxBodyBytes)`);
      send(res, { status: httpStatusOf(error), body: errorBody(error) }, id, shape);
      return;
    }
    let reservation: Reservation;
    try {
      reservation = this.#budget.reserve(declaredBytes);
    } catch (err) {
      // Shed before reading the body, as for the in-flight cap: its bytes never enter the process.
      this.#shedBodyBudget++;
      const error = asInfergateError(err);
      // Overload passes (Retry-After); a body too large for the whole budget never fits.
      if (error.kind === 'overloaded') res.setHeader('retry-after', String(error.retryAfterSeconds ?? 1));
      closeAfterAnswer(req, res);
      send(res, { status: httpStatusOf(error), body: errorBody(error) }, id, shape);
      return;
    }
    // The request may go on: now the client may send its body.
    if (expectsContinue) res.writeContinue();
    this.#accepted++;
    this.#inFlight++;
    let observed = false;
    try {
      let reply: Reply;
      try {
        if (this.#cors !== undefined && req.method === 'OPTIONS') {
          reply = optionsReply(this.#cors, req.url ?? '/', headerText(req, 'origin'), headerText(req, 'access-control-request-method'));
        } else {
          const route = matchRoute(req.method ?? 'GET', req.url ?? '/');
          const protocol = inferenceProtocol(route);
          if (protocol !== undefined && this.#observe !== undefined) {
            observed = true;
            record.protocol = protocol;
            this.#begin?.(record);
          }
          reply = await this.#answer(route, req, reservation, record, res);
        }
      } finally {
        // The body and its decoded tensors are no longer needed once the answer exists (nor for a request
        // refused by its route: its reservation must come back too).
        reservation.release();
      }
      // Draining: the connection ends after this answer (Node closes it once the answer is written).
      if (this.#draining) closeAfterAnswer(req, res);
      record.status = reply.status;
      await send(res, reply, id, shape);
    } catch (err) {
      const error = asInfergateError(err);
      if (error.code === 'GW_ERR_INTERNAL') this.#logger.error({ requestId: record.id, method: req.method, url: req.url, err }, 'internal error');
      // A body we stopped reading cannot be followed by another request on this connection.
      if (this.#draining) closeAfterAnswer(req, res);
      else if (!req.complete) {
        // A body left unread (refused before reading it): a small one is read and dropped so the connection
        // stays usable; a large or oversized one ends the connection instead.
        // A timed-out (slow) or oversized body is never read on: the connection ends instead.
        if (error.kind !== 'too_large' && error.kind !== 'slow_client' && error.code !== 'GW_ERR_OVERLOADED' && unreadBodyBytes(req) <= DISCARD_BODY_MAX_BYTES) req.resume();
        else closeAfterAnswer(req, res);
      }
      if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
      // RFC 9110 §15.5.6: a 405 lists the methods the path takes (OPTIONS too while CORS answers it).
      if (error instanceof MethodNotAllowedError) res.setHeader('allow', [...error.allowedMethods, ...(this.#cors ? ['OPTIONS'] : [])].join(', '));
      // Basic too: a browser (the status page) can only be asked for a password, never for a bearer token.
      if (error.kind === 'unauthenticated') res.setHeader('www-authenticate', ['Basic realm="infergate admin"', 'Bearer realm="infergate admin"']);
      record.status = httpStatusOf(error);
      record.code = error.code;
      send(res, { status: record.status, body: errorBody(error) }, id, shape);
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

/** The body bytes a request declares (0 for none, or for a body of unknown length, which grows its reservation as it arrives). */
function declaredBodyBytes(req: IncomingMessage): number {
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
}

/**
 * The bytes of body a request may still have to come when it is answered early: none for a request that
 * declares no body (neither Content-Length nor Transfer-Encoding: a GET), so that a 404 or 405 to it keeps
 * its connection; unknown (Infinity) for a chunked one.
 */
function unreadBodyBytes(req: IncomingMessage): number {
  const declared = req.headers['content-length'];
  if (declared === undefined) return req.headers['transfer-encoding'] === undefined ? 0 : Infinity;
  const bytes = Number(declared);
  return Number.isFinite(bytes) ? bytes : Infinity;
}

/** A request's header fields, without HTTP/2's pseudo-headers (":path" …), which HTTP/1.1 carries in its request line. */
function headerCount(req: IncomingMessage): number {
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (!raw[i]!.startsWith(':')) count++;
  return count;
}
