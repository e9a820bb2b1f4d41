// The worker's HTTP face (routes and frame in common/wire.ts), built from a
// model store passed in: no globals, so a test can build one over a fake store.
//
//   GET  /health/live    200 while the process serves HTTP at all
//   GET  /health/ready   200 {ready:true,state:'ready'} | 503 loading/draining
//   GET  /models         200 {models: ModelSignature[]} once the store is ready
//   POST /infer          request frame → response frame (FRAME_CONTENT_TYPE)
//   GET  /stats          what ran, per model version (worker/run-stats.ts)
//   GET  /metrics        the worker's metrics registry as JSON (worker/worker-metrics.ts), for the gateway's scrape
//   POST /v2/models/{m}[/versions/{v}]/infer   KServe v2 JSON (worker/kserve-infer.ts)
//   POST /models/{m}/load | /models/{m}/unload  live model changes (worker/model-control.ts)
//
// Errors are JSON {code, message} with the catalogued status.
//
// Shutdown: close() drains (stop accepting, answer new requests on open
// keep-alive connections 503 GW_ERR_SHUTTING_DOWN with "Connection: close",
// let in-flight requests finish, close idle sockets so they cannot hold the
// server open) and destroy() aborts every connection. Both are idempotent.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { bearerToken, tokenMatches } from '../common/worker-token.ts';
import { asInfergateError, errorBody, InfergateError } from '../common/errors.ts';
import { httpStatusOf } from '../common/http-status.ts';
import type { Logger } from '../common/logger.ts';
import { FRAME_CONTENT_TYPE, WORKER_ROUTES, type WorkerModelsBody } from '../common/wire.ts';
import type { WorkerMetricsBody, WorkerReadyBody } from '../common/worker-control.ts';
import { readFrameBody } from './body.ts';
import type { InferenceBackend } from './inference-backend.ts';
import { InferPath } from './infer-path.ts';
import { matchKServeInfer, runKServeInfer } from './kserve-infer.ts';
import { hasBody, matchModelControl, MODEL_CONTROL_MAX_BODY_BYTES, runModelControl, type ModelControl, type ModelControlCall } from './model-control.ts';
import type { ListenAddress } from '../common/listen-address.ts';
import { listenOn } from './listen.ts';
import { DEFAULT_MAX_BODY_BYTES, type InjectedFault } from '../common/worker-options.ts';
import type { RunObserver } from './run-record.ts';

export type WorkerServerOptions = {
  store: InferenceBackend;
  /** Serves POST /models/{m}/load and /unload when given (the store itself, in a worker process). */
  control?: ModelControl;
  /** Largest accepted /infer body; default 256 MiB. */
  maxBodyBytes?: number;
  /** Most output bytes of one answer (a request frame may ask for less); default 256 MiB. */
  maxResponseBytes?: number;
  /** Where unexpected (GW_ERR_INTERNAL) errors are logged; default: nowhere. */
  logger?: Logger;
  /** Chaos testing (--inject-fault): 'infer-errors' fails every inference with GW_ERR_INJECTED_FAULT (500). */
  injectFault?: InjectedFault;
  /** Told of every run once it answered or failed (log line, metrics, span); default: nobody. */
  onRun?: RunObserver;
  /** Answers GET /metrics (worker-metrics.ts); absent: an empty list. */
  metrics?: () => Promise<WorkerMetricsBody>;
  /** When set, every route but /health/live and /health/ready needs `Authorization: Bearer <token>` (GW_ERR_WORKER_TOKEN otherwise). */
  token?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
};

type Route = { methods: readonly string[]; handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void> };

export class WorkerServer {
  readonly server: Server | HttpsServer;
  readonly #token: string | undefined;
  readonly #store: InferenceBackend;
  readonly #control: ModelControl | undefined;
  readonly #maxBodyBytes: number;
  readonly #logger: Logger | undefined;
  readonly #routes: ReadonlyMap<string, Route>;
  #inFlight = 0;
  /** Runs frames and KServe requests, counts them (GET /stats) and tells the run observer. */
  readonly #inferPath: InferPath;
  #closing: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;

  constructor(options: WorkerServerOptions) {
    this.#store = options.store;
    this.#control = options.control;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#logger = options.logger;
    this.#inferPath = new InferPath({
      store: options.store,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_BODY_BYTES,
      injectFault: options.injectFault ?? 'none',
      ...(options.onRun ? { onRun: options.onRun } : {}),
    });
    const metrics = options.metrics ?? (async (): Promise<WorkerMetricsBody> => []);
    this.#routes = new Map<string, Route>([
      [WORKER_ROUTES.live, { methods: ['GET', 'HEAD'], handle: (_req, res) => sendJson(res, 200, { live: true }) }],
      [WORKER_ROUTES.ready, { methods: ['GET', 'HEAD'], handle: (_req, res) => this.#ready(res) }],
      [WORKER_ROUTES.models, { methods: ['GET'], handle: (_req, res) => this.#models(res) }],
      [WORKER_ROUTES.infer, { methods: ['POST'], handle: (req, res) => this.#infer(req, res) }],
      [WORKER_ROUTES.stats, { methods: ['GET'], handle: (_req, res) => sendJson(res, 200, this.#inferPath.stats()) }],
      [WORKER_ROUTES.metrics, { methods: ['GET'], handle: async (_req, res) => sendJson(res, 200, await metrics()) }],
    ]);
    this.#token = options.token;
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#request(req, res);
    this.server = options.tls ? createHttpsServer({ ...options.tls, minVersion: 'TLSv1.2' }, handler) : createServer(handler);
  }

  /** Readiness as GET /health/ready reports it. */
  get state(): WorkerReadyBody['state'] {
    if (this.#closing || this.#store.state === 'closed') return 'draining';
    return this.#store.state === 'ready' ? 'ready' : 'loading';
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Binds the address (a stale unix socket file is removed first); resolves with the bound address (TCP port 0 → the real port). */
  listen(address: ListenAddress): Promise<ListenAddress> {
    return listenOn(this.server, address);
  }

  /** Drains: resolves once in-flight requests are answered and every connection is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      let closed = !this.server.listening;
      let idle = this.#inFlight === 0;
      const settle = (): void => {
        if (closed && idle) resolve();
      };
      this.#onIdle = () => {
        idle = true;
        this.server.closeIdleConnections();
        settle();
      };
      if (!closed) {
        this.server.close(() => {
          closed = true;
          settle();
        });
      }
      this.server.closeIdleConnections();
      settle();
    });
    return this.#closing;
  }

  /** Aborts every connection now (in-flight requests are lost). Idempotent. */
  destroy(): void {
    void this.close();
    this.server.closeAllConnections();
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    this.#inFlight++;
    res.once('close', () => {
      if (--this.#inFlight === 0 && this.#onIdle) this.#onIdle();
    });
    // While draining, every answer closes its connection so keep-alive cannot hold the server open.
    if (this.#closing) res.setHeader('connection', 'close');

    const path = (req.url ?? '/').split('?', 1)[0]!;
    const kserve = matchKServeInfer(path);
    const control = this.#control && matchModelControl(path);
    const route = kserve
      ? { methods: ['POST'], handle: (r: IncomingMessage, s: ServerResponse) => this.#kserveInfer(r, s, kserve.model, kserve.version) }
      : control
        ? { methods: ['POST'], handle: (r: IncomingMessage, s: ServerResponse) => this.#modelControl(r, s, control) }
        : this.#routes.get(path);
    // The health routes stay open (an orchestrator's probes carry no token); everything else is the fleet's.
    if (this.#token !== undefined && path !== WORKER_ROUTES.live && path !== WORKER_ROUTES.ready && !tokenMatches(this.#token, bearerToken(req.headers.authorization))) {
      return sendError(res, new InfergateError('GW_ERR_WORKER_TOKEN', `${req.method} ${path}`));
    }
    if (!route) return sendError(res, new InfergateError('GW_ERR_ROUTE_NOT_FOUND', `${req.method} ${path}`));
    if (!route.methods.includes(req.method ?? '')) {
      res.setHeader('allow', route.methods.join(', '));
      return sendError(res, new InfergateError('GW_ERR_METHOD_NOT_ALLOWED', `${req.method} ${path}`));
    }
    const fail = (err: unknown): void => {
      const error = asInfergateError(err);
      if (error.code === 'GW_ERR_INTERNAL') this.#logger?.error({ err, method: req.method, path }, 'internal error');
      if (this.#closing && !res.headersSent) res.setHeader('connection', 'close');
      // The public KServe route answers errors the way the gateway does.
      if (kserve) sendJson(res, httpStatusOf(error), errorBody(error));
      else sendError(res, error);
    };
    try {
      const done = route.handle(req, res);
      if (done) done.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  async #kserveInfer(req: IncomingMessage, res: ServerResponse, model: string, version: string): Promise<void> {
    const body = await this.#acceptBody(req, res, 'application/json');
    this.#reply(res, 'application/json', await runKServeInfer(this.#inferPath.backend, model, version, body));
  }

  async #modelControl(req: IncomingMessage, res: ServerResponse, call: ModelControlCall): Promise<void> {
    const body = hasBody(req) ? await this.#acceptBody(req, res, 'application/json', MODEL_CONTROL_MAX_BODY_BYTES) : new Uint8Array(0);
    if (this.#closing) throw new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is draining');
    sendJson(res, 200, await runModelControl(this.#control!, call, body));
  }

  /** Reads a request body, unless the worker is draining or the content type is wrong. */
  async #acceptBody(req: IncomingMessage, res: ServerResponse, contentType: string, maxBytes = this.#maxBodyBytes): Promise<Uint8Array> {
    if (this.#closing) {
      req.resume();
      throw new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is draining');
    }
    const sent = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
    if (sent !== contentType) {
      req.resume();
      throw new InfergateError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', `${req.method} ${req.url} takes ${contentType}, not ${sent ?? 'no content type'}`);
    }
    try {
      return await readFrameBody(req, maxBytes);
    } catch (err) {
      // Do not read the rest of an oversized body: answer, then drop the connection.
      res.setHeader('connection', 'close');
      throw err;
    }
  }

  #reply(res: ServerResponse, contentType: string, body: Uint8Array): void {
    // A request that began before close() ends its connection as it answers.
    if (this.#closing) res.setHeader('connection', 'close');
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.byteLength });
    res.end(body);
  }

  #ready(res: ServerResponse): void {
    const state = this.state;
    const body: WorkerReadyBody = { ready: state === 'ready', state };
    sendJson(res, state === 'ready' ? 200 : 503, body);
  }

  #models(res: ServerResponse): void {
    if (this.#store.state !== 'ready') throw new InfergateError('GW_ERR_MODEL_NOT_READY', `the worker is ${this.state}`);
    const body: WorkerModelsBody = this.#store.report();
    sendJson(res, 200, body);
  }

  async #infer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAtMs = performance.now();
    const body = await this.#acceptBody(req, res, FRAME_CONTENT_TYPE);
    this.#reply(res, FRAME_CONTENT_TYPE, await this.runFrame(body, receivedAtMs));
  }

  /**
   * The infer path shared by POST /infer and the mux channel (worker/mux-server.ts): request frame in, response
   * frame out, counted in /stats and told to the run observer. Throws InfergateError.
   */
  runFrame(body: Uint8Array, receivedAtMs: number = performance.now()): Promise<Uint8Array> {
    return this.#inferPath.runFrame(body, receivedAtMs);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.byteLength });
  res.end(bytes);
}

function sendError(res: ServerResponse, error: InfergateError): void {
  sendJson(res, httpStatusOf(error), error.toWire());
}
