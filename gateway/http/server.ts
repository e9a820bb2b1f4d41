// The gateway's HTTP front: routes each request to its handler, turns every
// thrown error into a catalogued JSON answer, counts requests in flight and
// drains them on close. The handlers hold the KServe logic; this file holds
// only the HTTP mechanism.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { asInfergateError, errorBody, InfergateError } from '../../common/errors.ts';
import type { Handlers } from './handlers.ts';
import { matchRoute } from './routes.ts';

export type Reply = { status: number; body: Buffer | string | object; headers?: Record<string, string> };

export type HttpFrontOptions = {
  handlers: Handlers;
  /** Requests handled at once at most; beyond, 503 GW_ERR_OVERLOADED before the body is read. */
  maxInFlightRequests: number;
  log: (message: string) => void;
};

/** Counts of what the front did with requests since it started. */
export type HttpFrontStats = { accepted: number; answered: number; shed: number; refusedWhileDraining: number; inFlight: number };

/** An unread request body up to this size is drained after an early answer instead of closing the connection. */
const DISCARD_BODY_MAX_BYTES = 1024 * 1024;

export class HttpFront {
  readonly server: Server;
  readonly #handlers: Handlers;
  readonly #log: (message: string) => void;
  readonly #maxInFlight: number;
  #inFlight = 0;
  #accepted = 0;
  #answered = 0;
  #shed = 0;
  #refusedWhileDraining = 0;
  #draining = false;

  constructor(options: HttpFrontOptions) {
    this.#handlers = options.handlers;
    this.#log = options.log;
    this.#maxInFlight = options.maxInFlightRequests;
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void this.#handle(req, res));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  stats(): HttpFrontStats {
    return { accepted: this.#accepted, answered: this.#answered, shed: this.#shed, refusedWhileDraining: this.#refusedWhileDraining, inFlight: this.#inFlight };
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
    if (this.#draining) {
      this.#refusedWhileDraining++;
      res.setHeader('connection', 'close');
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_SHUTTING_DOWN')) });
      req.resume();
      return;
    }
    if (this.#inFlight >= this.#maxInFlight) {
      // Shed before reading the body: memory stays bounded however many clients push.
      this.#shed++;
      res.setHeader('retry-after', '1');
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_OVERLOADED', `${this.#inFlight} requests in flight`)) });
      req.resume();
      return;
    }
    this.#accepted++;
    this.#inFlight++;
    try {
      const route = matchRoute(req.method ?? 'GET', req.url ?? '/');
      const reply = await this.#handlers.handle(route, req);
      // Draining: the connection ends after this answer (Node closes it once the answer is written).
      if (this.#draining) res.setHeader('connection', 'close');
      send(res, reply);
    } catch (err) {
      const error = asInfergateError(err);
      if (error.code === 'GW_ERR_INTERNAL') this.#log(`internal error on ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
      // A body we stopped reading cannot be followed by another request on this connection.
      if (this.#draining) res.setHeader('connection', 'close');
      else if (!req.complete) {
        // A body left unread (refused before reading it): a small one is read and dropped so the connection
        // stays usable; a large or oversized one ends the connection instead.
        const declaredBytes = Number(req.headers['content-length'] ?? Infinity);
        if (error.status !== 413 && declaredBytes <= DISCARD_BODY_MAX_BYTES) req.resume();
        else res.setHeader('connection', 'close');
      }
      if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
      if (error.status === 401) res.setHeader('www-authenticate', 'Bearer realm="infergate admin"');
      send(res, { status: error.status, body: errorBody(error) });
    } finally {
      this.#answered++;
      this.#inFlight--;
    }
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const isBytes = Buffer.isBuffer(reply.body) || typeof reply.body === 'string';
  const payload = isBytes ? (reply.body as Buffer | string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    ...reply.headers,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
