// The gateway's HTTP routes: each takes a matched route and answers a Reply;
// errors are thrown as catalogued InfergateErrors. Who may call a route is
// the access gate's, asked before (http-front-wiring.ts). Inference is the infer
// service's (kserve-infer.ts and tfserving-route.ts translate it); the rest
// reads the registry, the replica set, the cache and the batchers.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';
import { modelMetadata, modelReadyBody, serverLiveBody, serverMetadata, serverReadyBody } from '../../common/kserve/metadata.ts';
import type { InferAnswer } from '../../common/wire.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { RetryBudget } from '../resilience/retry-budget.ts';
import type { ModelBatching } from '../batching/model-batching.ts';
import type { ResultCache } from '../cache/result-cache.ts';
import type { RepositoryControl } from '../repository/repository-control.ts';
import { rolloutStartReply, scaleReply, type ModelRollouts, type ModelScaling } from './model-admin-routes.ts';
import type { KServeInferRoute } from './kserve-infer.ts';
import type { TfServingRoute } from './tfserving-route.ts';
import type { TritonModelConfig } from '../models/triton-model-config.ts';
import type { RequestRecord } from '../telemetry/request-record.ts';
import type { Reply } from './reply.ts';
import type { Reservation } from './request-budget.ts';
import type { Route } from './routes.ts';

export { CACHE_HEADER } from './infer-reply.ts';

/** The protocol extensions the REST routes serve, by Triton's names (GET /v2 lists them; its tools may look). */
const REST_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'];

export type HandlersDeps = {
  registry: ModelRegistry;
  replicas: ReplicaSet;
  retryBudget: RetryBudget;
  cache: ResultCache<InferAnswer>;
  batching: ModelBatching;
  infer: KServeInferRoute;
  /** TF Serving's REST API: model status, metadata and predict. */
  tfserving: TfServingRoute;
  /** Triton's model configuration of a model version (the model-config extension); throws the catalogued 404 or 400. */
  modelConfig: (model: string, version: string | undefined) => TritonModelConfig;
  /** Loads and unloads models while serving (the repository extension's routes). */
  repository: Pick<RepositoryControl, 'index' | 'load' | 'unload'>;
  /** Scales a model's replicas while it serves; its status includes the autoscaler's last decision. */
  scaling: ModelScaling;
  /** Rollouts of new model versions behind gates. */
  rollouts: ModelRollouts;
  now: () => number;
  /** GET /v2/health/ready: every version READY (true), or every version READY or UNAVAILABLE (false). */
  strictReadiness: boolean;
  /** Reads the API keys again (auth.mode keys); undefined while auth is off. */
  reloadKeys?: () => Promise<{ keys: number }>;
  version: string;
  /** What the gateway tells about itself: metrics, inference statistics, the status page. */
  observability: ObservabilityRoutes;
  /** Purges the in-process cache tiers of the gateway's other processes (server.processes > 1) after its own. */
  purgeElsewhere?: (model: string, version: string | undefined) => Promise<void>;
};

/** The observability routes' answers, built where the numbers are kept (gateway/observability/). */
export type ObservabilityRoutes = {
  /** GET /metrics: the Prometheus exposition of the gateway and its workers. */
  metrics(): Promise<Reply>;
  /** GET /v2/models[/{m}[/versions/{v}]]/stats: Triton's statistics extension; throws the catalogued 404 or 400. */
  modelStats(model: string | undefined, version: string | undefined): Reply | Promise<Reply>;
  /** GET /: the status page. */
  statusPage(): Reply;
  /** GET /admin/status: what the status page draws. */
  statusData(): Reply;
};

export class Handlers {
  readonly #deps: HandlersDeps;

  constructor(deps: HandlersDeps) {
    this.#deps = deps;
  }

  /** An answer, or a promise of one for routes that wait (infer, purge); throws a catalogued error. Not async: a hit then resolves in fewer microtask turns. */
  readonly handle = (route: Route, req: IncomingMessage, reservation: Reservation | undefined, record: RequestRecord): Reply | Promise<Reply> => {
    switch (route.name) {
      case 'live':
        return { status: 200, body: serverLiveBody(true) };
      case 'ready': {
        const { ready, reason } = this.#deps.registry.readiness(this.#deps.strictReadiness);
        return ready ? { status: 200, body: serverReadyBody(true) } : notReady(reason);
      }
      case 'serverMetadata':
        return { status: 200, body: serverMetadata(this.#deps.version, REST_EXTENSIONS) };
      case 'modelMetadata': {
        const model = this.#deps.registry.model(route.model);
        const resolved = this.#deps.registry.resolve(route.model, route.version);
        const versions = route.version === undefined ? model.versions.map((v) => v.version) : [resolved.version];
        return { status: 200, body: modelMetadata(resolved.signature, versions) };
      }
      case 'modelReady': {
        const status = this.#deps.registry.resolveVersion(route.model, route.version);
        if (status.state === 'READY') return { status: 200, body: modelReadyBody(route.model, status.version, true) };
        return notReady(`model "${route.model}" version ${status.version} is ${status.state}${status.reason ? `: ${status.reason}` : ''}`);
      }
      case 'infer':
        return this.#deps.infer.handle(route.model, route.version, req, reservation, record);
      case 'modelConfig':
        return { status: 200, body: this.#deps.modelConfig(route.model, route.version) };
      case 'tfservingStatus':
        return this.#deps.tfserving.status(route.model, route.version);
      case 'tfservingMetadata':
        return this.#deps.tfserving.metadata(route.model, route.version);
      case 'tfservingPredict':
        return this.#deps.tfserving.predict(route.model, route.version, req, reservation, record);
      case 'replicas':
        return { status: 200, body: this.#replicasBody() };
      case 'cacheStats':
        return { status: 200, body: this.#deps.cache.stats() };
      case 'cachePurge':
        return this.#purge(route.model, route.version);
      case 'batchingStats':
        return { status: 200, body: this.#deps.batching.snapshot() };
      case 'modelsAdmin':
        return { status: 200, body: { models: this.#deps.registry.models.map((m) => this.#modelBody(m.name)) } };
      case 'modelAdmin':
        return { status: 200, body: { ...this.#modelBody(this.#deps.registry.model(route.model).name), scaling: this.#deps.scaling.status(route.model) } };
      case 'modelScale':
        return scaleReply(this.#deps.scaling, route.model, req, this.#deps.now);
      case 'rolloutStart':
        return rolloutStartReply(this.#deps.rollouts, route.model, req, this.#deps.now);
      case 'rolloutStatus':
        return { status: 200, body: this.#deps.rollouts.status(route.model) };
      case 'rolloutAbort':
        return { status: 202, body: this.#deps.rollouts.abort(route.model) };
      case 'keysReload': {
        const reload = this.#deps.reloadKeys;
        if (reload === undefined) throw new InfergateError('GW_ERR_NO_API_KEYS');
        return reload().then(
          (body) => ({ status: 200, body }),
          (err: Error) => {
            throw new InfergateError('GW_ERR_API_KEYS_UNREADABLE', err.message);
          },
        );
      }
      case 'repositoryIndex':
        return { status: 200, body: this.#deps.repository.index() };
      case 'repositoryLoad':
        return this.#deps.repository.load(route.model).then(() => ({ status: 200, body: {} }));
      case 'repositoryUnload':
        return this.#deps.repository.unload(route.model).then(() => ({ status: 200, body: {} }));
      case 'modelStats':
        return this.#deps.observability.modelStats(route.model, route.version);
      case 'metrics':
        return this.#deps.observability.metrics();
      case 'statusPage':
        return this.#deps.observability.statusPage();
      case 'statusData':
        return this.#deps.observability.statusData();
    }
  };

  /** Each replica's lifecycle and health, each model's versions and routing (panic mode or not) and the retry budget. */
  #replicasBody(): object {
    const { replicas, registry, retryBudget } = this.#deps;
    const models = Object.fromEntries(
      registry.models.map((m) => {
        const { replicas: routable, panic } = replicas.route(m.name, undefined);
        const ready = replicas.replicas.filter((r) => r.state === 'ready' && r.serves(m.name)).length;
        return [m.name, { ready, routable: routable.map((r) => r.id), panic, versions: registry.status(m.name) }];
      }),
    );
    return { replicas: replicas.snapshots(), models, retryBudget: retryBudget.snapshot() };
  }

  /** A model's versions: state, the ready replicas that run each, and its last load. */
  #modelBody(name: string): { name: string; versions: object[] } {
    const { registry, replicas } = this.#deps;
    return {
      name,
      versions: registry.status(name).map((v) => {
        const load = registry.lastLoad(name, v.version);
        return {
          ...v,
          replicas: replicas.replicas.filter((r) => r.state === 'ready' && r.runs(name, v.version)).map((r) => r.id),
          lastLoadedAt: load?.readyAtMs === undefined ? null : new Date(load.readyAtMs).toISOString(),
          loadMs: load?.loadMs ?? null,
        };
      }),
    };
  }

  async #purge(modelName: string, version: string | undefined): Promise<Reply> {
    // Known names only: a typo must not report "0 removed" as if it had worked.
    const model = this.#deps.registry.model(modelName);
    const resolvedVersion = version === undefined ? undefined : this.#deps.registry.resolveVersion(model.name, version).version;
    const result = await this.#deps.cache.purge(model.name, resolvedVersion);
    await this.#deps.purgeElsewhere?.(model.name, resolvedVersion);
    const failed = Object.entries(result.errors);
    if (failed.length > 0) {
      const detail = failed.map(([tier, message]) => `${tier}: ${message}`).join('; ');
      throw new InfergateError('GW_ERR_CACHE_UNAVAILABLE', `purge of ${result.prefix}* removed ${JSON.stringify(result.removed)}, failed in ${detail}`);
    }
    return { status: 200, body: { model: model.name, ...(resolvedVersion !== undefined ? { version: resolvedVersion } : {}), removed: result.removed } };
  }
}

function notReady(reason: string): Reply {
  // The protocol's readiness endpoints answer 400 when not ready.
  return { status: 400, body: { error: reason } };
}
