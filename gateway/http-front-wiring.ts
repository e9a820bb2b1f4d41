// The gateway's HTTP front, built from its handlers: the KServe infer route,
// TF Serving's routes, admin access, and, when the gateway runs as several processes, who answers
// which route. A front process hands the routes only the leader can answer to
// the leader's control socket (after checking admin access itself, with the
// same config); the leader takes those requests from its control socket as
// already checked.

import type { Socket } from 'node:net';
import type { GatewayConfig } from '../config/schema.ts';
import type { Logger } from '../common/logger.ts';
import { RawBodyIndex } from './cache/raw-body-index.ts';
import { adminAccess } from './http/admin-access.ts';
import { Handlers, type HandlersDeps } from './http/handlers.ts';
import { KServeInferRoute } from './http/kserve-infer.ts';
import { TfServingRoute } from './http/tfserving-route.ts';
import { effectiveBatching, tritonModelConfig } from './models/triton-model-config.ts';
import type { HandleRoute, Reply } from './http/reply.ts';
import { RequestBudget } from './http/request-budget.ts';
import { isAdminRoute, type Route } from './http/routes.ts';
import { ExternalRoute } from './http/external-route.ts';
import { externalReplicas } from './replica-sources-wiring.ts';
import type { Dispatcher } from './upstream/dispatcher.ts';
import { HttpFront } from './http/server.ts';
import { headerText } from './http/infer-headers.ts';
import { CACHE_HEADER } from './http/infer-reply.ts';
import type { InferService } from './infer/infer-service.ts';
import type { Observability } from './observability-wiring.ts';
import { isLeaderRoute, type FrontLink } from './processes/front-link.ts';

/** Distinct request bodies remembered for decode-free cache hits, and the bytes of their stored copies at most. */
const RAW_BODY_INDEX_LIMITS = { maxEntries: 16_384, maxBytes: 32 * 1024 * 1024 };

export type HttpFrontWiringDeps = Omit<HandlersDeps, 'infer' | 'tfserving' | 'modelConfig' | 'adminAccess' | 'strictReadiness' | 'observability'> & {
  config: GatewayConfig;
  service: InferService;
  observability: Observability;
  /** Set in a front process: its link to the leader. */
  front?: FrontLink;
  /** Sends the proxied requests of external models (config externalModels) to their replicas. */
  dispatcher: Dispatcher;
  /** Set in a leader: the connections of its control socket, whose requests fronts have checked. */
  controlSockets?: WeakSet<Socket>;
  logger: Logger;
};

export function buildHttpFront(deps: HttpFrontWiringDeps): HttpFront {
  const { config, front, controlSockets, observability, registry, now } = deps;
  const access = adminAccess(config.server.adminToken);
  const handlerDeps: HandlersDeps = {
    ...deps,
    infer: new KServeInferRoute({ service: deps.service, rawBodies: new RawBodyIndex(RAW_BODY_INDEX_LIMITS), maxBodyBytes: config.server.maxBodyBytes, limits: config.limits, now }),
    tfserving: new TfServingRoute({ service: deps.service, registry, maxBodyBytes: config.server.maxBodyBytes, limits: config.limits, now }),
    // As the gRPC ModelConfig RPC answers it (grpc-front-wiring.ts).
    modelConfig: (model, version) => tritonModelConfig(registry.model(model), registry.resolve(model, version).signature, effectiveBatching(registry.model(model), config.batching)),
    strictReadiness: config.server.strictReadiness,
    adminAccess: access,
    observability: observability.routes,
  };
  const handlers = new Handlers(handlerDeps);
  let handle: HandleRoute = handlers.handle;
  if (front) {
    handle = (route, req, reservation, record) => {
      if (!isLeaderRoute(route)) return handlers.handle(route, req, reservation, record);
      if (isAdminRoute(route)) access(headerText(req, 'authorization'), req.socket.remoteAddress);
      return front.forward(req);
    };
  } else if (controlSockets) {
    const checked = new Handlers({ ...handlerDeps, adminAccess: () => {} });
    handle = (route, req, reservation, record) => (controlSockets.has(req.socket) ? checked : handlers).handle(route, req, reservation, record);
  }
  if (config.externalModels.length > 0) {
    const { baseUrlOf } = externalReplicas(config.externalModels);
    handle = proxyingExternal(handle, new ExternalRoute({ models: config.externalModels, baseUrlOf, dispatcher: deps.dispatcher, maxBodyBytes: config.server.maxBodyBytes, now }));
  }
  // Last, so that no answer escapes it: the leader's forwarded ones and an external server's too.
  if (!config.server.cacheHeader) handle = withoutCacheHeader(handle);
  const { compression, cors } = config.server;
  const server = config.server;
  return new HttpFront({
    handle,
    maxInFlightRequests: config.server.maxInFlightRequests,
    maxBodyBytes: config.server.maxBodyBytes,
    ...(compression.enabled ? { compression: { minBytes: compression.minBytes } } : {}),
    ...(cors.enabled ? { cors } : {}),
    h2c: server.h2c,
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
