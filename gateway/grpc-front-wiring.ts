// The gateway's gRPC front, built from the same parts the HTTP front uses
// (infer service, registry, repository control, statistics, access gate),
// or nothing when server.grpcPort is 0.

import type { GatewayConfig } from '../config/schema.ts';
import type { Logger } from '../common/logger.ts';
import { GrpcFront } from './grpc/grpc-front.ts';
import type { AccessGate } from './access/access-gate.ts';
import { requestIds } from './http/request-id.ts';
import type { InferService } from './infer/infer-service.ts';
import type { ModelRegistry } from './models/registry.ts';
import { effectiveBatching, tritonModelConfig } from './models/triton-model-config.ts';
import type { Observability } from './observability-wiring.ts';
import type { AdminTargets } from './fleet/fleet-actions.ts';
import type { TlsReloader } from './tls-wiring.ts';

export type GrpcFrontWiringDeps = {
  config: GatewayConfig;
  service: InferService;
  registry: ModelRegistry;
  admin: AdminTargets;
  observability: Observability;
  gate: AccessGate;
  version: string;
  now: () => number;
  /** server.tls: gRPC over TLS with its current certificate, which it replaces on each reload. */
  tls?: TlsReloader | null;
  logger: Logger;
};

export function buildGrpcFront(deps: GrpcFrontWiringDeps): GrpcFront | null {
  const { config, registry, observability } = deps;
  const { server } = config;
  if (server.grpcPort === 0) return null;
  const { tls } = deps;
  const grpcFront = new GrpcFront({
    service: deps.service,
    limits: config.limits,
    observe: observability.observe,
    begin: observability.begin,
    newRequestId: requestIds(),
    now: deps.now,
    registry,
    repository: deps.admin.repository,
    // The statistics route's body: with several processes, every process's (the leader asks its fronts).
    statistics: (model, version) => observability.allStatsBody(model, version),
    modelConfig: (model, version) => tritonModelConfig(registry.model(model), registry.resolve(model, version).signature, effectiveBatching(registry.model(model), config.batching)),
    gate: deps.gate,
    strictReadiness: server.strictReadiness,
    version: deps.version,
    settings: { maxMessageBytes: server.grpcMaxMessageBytes, keepaliveTimeMs: server.grpcKeepaliveTimeMs, keepaliveTimeoutMs: server.grpcKeepaliveTimeoutMs },
    ...(tls ? { tls: tls.secureOptions() } : {}),
    logger: deps.logger,
  });
  if (tls && grpcFront.secureServer) tls.add(grpcFront.secureServer);
  return grpcFront;
}
