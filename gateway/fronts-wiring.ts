// The gateway's fronts, built from its parts: the access gate both share
// (API keys, the admin token, rate limits), the HTTP front, and the gRPC
// front (the leader's alone when the gateway runs as several processes).

import type { InferAnswer } from '../common/wire.ts';
import type { Logger } from '../common/logger.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { buildAccess, type Access } from './access-wiring.ts';
import type { ModelBatching } from './batching/model-batching.ts';
import type { ResultCache } from './cache/result-cache.ts';
import { buildGrpcFront } from './grpc-front-wiring.ts';
import type { GrpcFront } from './grpc/grpc-front.ts';
import { buildHttpFront } from './http-front-wiring.ts';
import type { HttpFront } from './http/server.ts';
import type { InferService } from './infer/infer-service.ts';
import type { ModelControl } from './model-control-wiring.ts';
import type { ModelRegistry } from './models/registry.ts';
import type { Observability } from './observability-wiring.ts';
import type { ProcessRole } from './processes-wiring.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';
import type { RetryBudget } from './resilience/retry-budget.ts';
import type { TlsReloader } from './tls-wiring.ts';
import type { Dispatcher } from './upstream/dispatcher.ts';

export type FrontsParts = {
  config: GatewayConfig;
  registry: ModelRegistry;
  replicas: ReplicaSet;
  retryBudget: RetryBudget;
  cache: ResultCache<InferAnswer>;
  batching: ModelBatching;
  infer: InferService;
  dispatcher: Dispatcher;
  modelControl: ModelControl;
  role: ProcessRole;
  observability: Observability;
  tls: TlsReloader | null;
};

export type Fronts = { access: Access; http: HttpFront; grpc: GrpcFront | null };

export function buildFronts(parts: FrontsParts, options: { version: string; now: () => number; logger: Logger }): Fronts {
  const { config, modelControl, observability, tls } = parts;
  const { version, now, logger } = options;
  const access = buildAccess(config, logger);
  const http = buildHttpFront({
    config,
    gate: access.gate,
    ...(access.keys ? { reloadKeys: () => access.keys!.reload() } : {}),
    registry: parts.registry,
    replicas: parts.replicas,
    retryBudget: parts.retryBudget,
    cache: parts.cache,
    batching: parts.batching,
    service: parts.infer,
    dispatcher: parts.dispatcher,
    ...modelControl.admin,
    ...parts.role.httpDeps(),
    now,
    version,
    observability,
    tls,
    logger,
  });
  const grpc = parts.role.front ? null : buildGrpcFront({ config, service: parts.infer, registry: parts.registry, admin: modelControl.admin, observability, gate: access.gate, version, now, tls, logger });
  return { access, http, grpc };
}
