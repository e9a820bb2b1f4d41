// The gateway's HTTP front, built from its handlers: the KServe infer route,
// TF Serving's routes, the access gate in front of them all, and, when the gateway runs as several processes, who answers
// which route. A front process hands the routes only the leader can answer to
// the leader's control socket (after its own gate admitted them, with the
// same config); the leader takes those requests from its control socket as
// already admitted.

import type { Socket } from 'node:net';
import type { GatewayConfig } from '../config/schema.ts';
import type { Logger } from '../common/logger.ts';
import { RawBodyIndex } from './cache/raw-body-index.ts';
import { Handlers, type HandlersDeps } from './http/handlers.ts';
import { KServeInferRoute } from './http/kserve-infer.ts';
import { TfServingRoute } from './http/tfserving-route.ts';
import { effectiveBatching, tritonModelConfig } from './models/triton-model-config.ts';
import type { HandleRoute, Reply } from './http/reply.ts';
import { RequestBudget } from './http/request-budget.ts';
import type { Route } from './http/routes.ts';
import { guardedRoutes } from './http/guarded-routes.ts';
import type { AccessGate } from './access/access-gate.ts';
import { ExternalRoute } from './http/external-route.ts';
import { externalReplicas } from './replica-sources-wiring.ts';
import type { Dispatcher } from './upstream/dispatcher.ts';
import { HttpFront } from './http/server.ts';
import { CACHE_HEADER } from './http/infer-reply.ts';
import type { InferService } from './infer/infer-service.ts';
import type { Observability } from './observability-wiring.ts';
import { isLeaderRoute, type FrontLink } from './processes/front-link.ts';
import type { TlsReloader } from './tls-wiring.ts';

/** Distinct request bodies remembered for decode-free cache hits, and the bytes of their stored copies at most. */
const RAW_BODY_INDEX_LIMITS = { maxEntries: 16_384, maxBytes: 32 * 1024 * 1024 };

export type HttpFrontWiringDeps = Omit<HandlersDeps, 'infer' | 'tfserving' | 'modelConfig' | 'strictReadiness' | 'observability'> & {
  config: GatewayConfig;
  /** Who may call which route, and how fast (API keys, the admin token, rate limits). */
  gate: AccessGate;
  service: InferService;
  observability: Observability;
  /** Set in a front process: its link to the leader. */
  front?: FrontLink;
  /** Sends the proxied requests of external models (config externalModels) to their replicas. */
  dispatcher: Dispatcher;
  /** Set in a leader: the connections of its control socket, whose requests fronts have checked. */
  controlSockets?: WeakSet<Socket>;
  /** server.tls: HTTPS with its current certificate, which it replaces on each reload. */
  tls?: TlsReloader | null;
  logger: Logger;
};

export function buildHttpFront(deps: HttpFrontWiringDeps): HttpFront {
  const { config, front, controlSockets, observability, registry, now } = deps;
  const handlerDeps: HandlersDeps = {
    ...deps,
    infer: new KServeInferRoute({ service: deps.service, rawBodies: new RawBodyIndex(RAW_BODY_INDEX_LIMITS), maxBodyBytes: config.server.maxBodyBytes, limits: config.limits, now }),
    tfserving: new TfServingRoute({ service: deps.service, registry, maxBodyBytes: config.server.maxBodyBytes, limits: config.limits, now }),
    // As the gRPC ModelConfig RPC answers it (grpc-front-wiring.ts).
    modelConfig: (model, version) => tritonModelConfig(registry.model(model), registry.resolve(model, version).signature, effectiveBatching(registry.model(model), config.batching)),
    strictReadiness: config.server.strictReadiness,
    observability: observability.routes,
  };
  const handlers = new Handlers(handlerDeps);
  let handle: HandleRoute = handlers.handle;
  // A front hands the leader's routes to the leader, once its own gate has admitted them.
  if (front) handle = (route, req, reservation, record) => (isLeaderRoute(route) ? front.forward(req) : handlers.handle(route, req, reservation, record));
  handle = guardedRoutes(handle, deps.gate, controlSockets && ((req) => controlSockets.has(req.socket)));
  if (config.externalModels.length > 0) {
    const { baseUrlOf } = externalReplicas(config.externalModels);
    handle = proxyingExternal(handle, new ExternalRoute({ models: config.externalModels, baseUrlOf, dispatcher: deps.dispatcher, maxBodyBytes: config.server.maxBodyBytes, now }));
  }
  // Last, so that no answer escapes it: the leader's forwarded ones and an external server's too.
  if (!config.server.cacheHeader) handle = withoutCacheHeader(handle);
  const { compression, cors } = config.server;
  const server = config.server;
  const { tls } = deps;
  const httpFront = new HttpFront({
    handle,
    maxInFlightRequests: config.server.maxInFlightRequests,
    maxBodyBytes: config.server.maxBodyBytes,
    ...(compression.enabled ? { compression: { minBytes: compression.minBytes } } : {}),
    ...(cors.enabled ? { cors } : {}),
    h2c: server.h2c,
    ...(tls ? { tls: { ...tls.secureOptions(), http2: server.tls?.http2 ?? false } } : {}),
    timeouts: { headersTimeoutMs: server.headersTimeoutMs, requestReceiveTimeoutMs: server.requestReceiveTimeoutMs, keepAliveTimeoutMs: server.keepAliveTimeoutMs },
    maxHeaderBytes: server.maxHeaderBytes,
    maxHeadersCount: server.maxHeadersCount,
    connectionLimits: { maxConnectionsPerAddress: server.maxConnectionsPerAddress, maxConnections: server.maxConnections },
    budget: new RequestBudget(config.limits.maxBufferedRequestBytes),
    observe: observability.observe,
    ...(observability.begin ? { begin: observability.begin } : {}),
    now,
    logger: deps.logger,
  });
  if (tls && httpFront.secureServer) tls.add(httpFront.secureServer);
  return httpFront;
}

/** Data-plane routes of a model that an external server serves go to it, as they are (external-route.ts): KServe v2's, Triton's model config, TF Serving's. */
const EXTERNAL_ROUTES: ReadonlySet<Route['name']> = new Set(['modelMetadata', 'modelReady', 'infer', 'modelConfig', 'tfservingStatus', 'tfservingMetadata', 'tfservingPredict']);

function proxyingExternal(handle: HandleRoute, external: ExternalRoute): HandleRoute {
  return (route, req, reservation, record, res) => {
    const model = EXTERNAL_ROUTES.has(route.name) && 'model' in route ? route.model : undefined;
    return model !== undefined && external.has(model) ? external.handle(model, req, res, reservation, record) : handle(route, req, reservation, record, res);
  };
}

/**
 * Answers without `x-infergate-cache` (server.cacheHeader: false): a hit tells a client that someone else sent the
 * same input within the cache's TTL, which an untrusted client must not learn.
 */
function withoutCacheHeader(handle: HandleRoute): HandleRoute {
  const strip = (reply: Reply): Reply => {
    if (reply.headers === undefined || !(CACHE_HEADER in reply.headers)) return reply;
    const { [CACHE_HEADER]: _dropped, ...headers } = reply.headers;
    return { ...reply, headers };
  };
  return (route, req, reservation, record, res) => {
    const reply = handle(route, req, reservation, record, res);
    return reply instanceof Promise ? reply.then(strip) : strip(reply);
  };
}
