// The gateway's gRPC front, built from the same parts the HTTP front uses
// (infer service, registry, repository control, statistics, admin access),
// or nothing when server.grpcPort is 0.

import type { GatewayConfig } from '../config/schema.ts';
import type { Logger } from '../common/logger.ts';
import { GrpcFront } from './grpc/grpc-front.ts';
import { adminAccess } from './http/admin-access.ts';
import { requestIds } from './http/request-id.ts';
import type { InferService } from './infer/infer-service.ts';
import type { ModelRegistry } from './models/registry.ts';
import { effectiveBatching, tritonModelConfig } from './models/triton-model-config.ts';
import type { Observability } from './observability-wiring.ts';
import type { AdminTargets } from './fleet/fleet-actions.ts';

export type GrpcFrontWiringDeps = {
  config: GatewayConfig;
  service: InferService;
  registry: ModelRegistry;
  admin: AdminTargets;
  observability: Observability;
  version: string;
  now: () => number;
  logger: Logger;
};

export function buildGrpcFront(deps: GrpcFrontWiringDeps): GrpcFront | null {
  const { config, registry, observability } = deps;
  const { server } = config;
  if (server.grpcPort === 0) return null;
  return new GrpcFront({
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
    adminAccess: adminAccess(server.adminToken),
    strictReadiness: server.strictReadiness,
    version: deps.version,
    settings: { maxMessageBytes: server.grpcMaxMessageBytes, keepaliveTimeMs: server.grpcKeepaliveTimeMs, keepaliveTimeoutMs: server.grpcKeepaliveTimeoutMs },
    logger: deps.logger,
  });
}
