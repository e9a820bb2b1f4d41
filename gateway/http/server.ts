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
  log: (message: string) => void;
};

export class HttpFront {
  readonly server: Server;
  readonly #handlers: Handlers;
  readonly #log: (message: string) => void;
  #inFlight = 0;
  #draining = false;
  #idle: (() => void) | null = null;

  constructor(options: HttpFrontOptions) {
    this.#handlers = options.handlers;
    this.#log = options.log;
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void this.#handle(req, res));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Stops taking new requests (new connections are refused; requests arriving
   * on kept-alive connections get 503) and resolves once every accepted
   * request has been answered or `graceMs` passed. Idempotent.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    this.server.close();
    this.server.closeIdleConnections();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.server.closeAllConnections();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#draining) {
      res.setHeader('connection', 'close');
      send(res, { status: 503, body: errorBody(new InfergateError('GW_ERR_SHUTTING_DOWN')) });
      req.resume();
      return;
    }
    this.#inFlight++;
    try {
      const route = matchRoute(req.method ?? 'GET', req.url ?? '/');
      send(res, await this.#handlers.handle(route, req));
    } catch (err) {
      const error = asInfergateError(err);
      if (error.code === 'GW_ERR_INTERNAL') this.#log(`internal error on ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
      // A body we stopped reading cannot be followed by another request on this connection.
      if (!req.complete) res.setHeader('connection', 'close');
      if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
      send(res, { status: error.status, body: errorBody(error) });
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#idle) this.#idle();
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
