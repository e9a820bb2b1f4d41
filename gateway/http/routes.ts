// Maps (method, path) to a route of the gateway's HTTP API. Pure; the
// server turns a route into a handler call.
//
//   GET  /v2                                     server metadata
//   GET  /v2/health/live | /v2/health/ready      process liveness / readiness
//   GET  /v2/models/{m}[/versions/{v}]           model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready     model readiness
//   POST /v2/models/{m}[/versions/{v}]/infer     inference (KServe v2 JSON)
//   GET  /admin/replicas                         replica states, load and health; routing per model; retry budget
//   GET  /admin/cache                            result cache statistics
//   GET  /admin/batching                         per model version: queue, batch sizes, rejects
//   GET  /admin/models                           per model version: state, reason, replicas, last load and its duration
//   POST /admin/keys/reload                      read the API keys again now (auth.mode keys)
//   DELETE /admin/cache/models/{m}[/versions/{v}] purge a model's (or one version's) cached answers
//   POST /v2/repository/index                    every model and version with its state (repository extension)
//   POST /v2/repository/models/{m}/load          (re)load a model from the repository while serving
//   POST /v2/repository/models/{m}/unload        unload a model once its running requests finish
//   GET  /v2/models/stats                        inference statistics of every model (Triton's statistics extension)
//   GET  /v2/models/{m}[/versions/{v}]/stats     inference statistics of one model (or version)
//   GET  /metrics                                Prometheus exposition: the gateway's and every worker's metrics
//   GET  /                                       the live status page (admin)
//   GET  /admin/status                           what the status page draws, as JSON (admin)
//   GET  /admin/models/{m}                       one model: versions, desired and current replicas, last scaling actions
//   PUT  /admin/models/{m}/replicas              {"replicas": N}: scale the model while it serves (202 with the plan)
//   POST /admin/models/{m}/rollouts              roll a new version out behind gates (202 with the rollout)
//   GET  /admin/models/{m}/rollouts/current      the running (or last) rollout: stage, gate readings, history
//   DELETE /admin/models/{m}/rollouts/current    abort it: all traffic back on stable, candidate released
//   GET  /v2/models/{m}[/versions/{v}]/config    Triton's model configuration (its model-config extension)
//   GET  /v1/models/{m}[/versions/{v}|/labels/{l}]            TF Serving: model status
//   GET  /v1/models/{m}[/versions/{v}|/labels/{l}]/metadata   TF Serving: the signature_def
//   POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict    TF Serving: inference (row or columnar JSON)

import { clientText, InfergateError } from '../../common/errors.ts';
import type { Protocol } from '../telemetry/request-record.ts';

export type Route =
  | { name: 'serverMetadata' }
  | { name: 'live' }
  | { name: 'ready' }
  | { name: 'modelMetadata'; model: string; version?: string }
  | { name: 'modelReady'; model: string; version?: string }
  | { name: 'infer'; model: string; version?: string }
  | { name: 'modelConfig'; model: string; version?: string }
  | { name: 'tfservingStatus'; model: string; version?: string }
  | { name: 'tfservingMetadata'; model: string; version?: string }
  | { name: 'tfservingPredict'; model: string; version?: string }
  | { name: 'replicas' }
  | { name: 'cacheStats' }
  | { name: 'cachePurge'; model: string; version?: string }
  | { name: 'batchingStats' }
  | { name: 'modelsAdmin' }
  | { name: 'keysReload' }
  | { name: 'repositoryIndex' }
  | { name: 'repositoryLoad'; model: string }
  | { name: 'repositoryUnload'; model: string }
  | { name: 'modelStats'; model?: string; version?: string }
  | { name: 'metrics' }
  | { name: 'statusPage' }
  | { name: 'statusData' }
  | { name: 'modelAdmin'; model: string }
  | { name: 'modelScale'; model: string }
  | { name: 'rolloutStart'; model: string }
  | { name: 'rolloutStatus'; model: string }
  | { name: 'rolloutAbort'; model: string };

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
/** What a path allows: one method, or (a rollout's current) GET and DELETE. */
type Allowed = Method | 'GET, DELETE';

const ADMIN_ROUTES: ReadonlySet<Route['name']> = new Set(['replicas', 'cacheStats', 'cachePurge', 'batchingStats', 'modelsAdmin', 'keysReload', 'repositoryIndex', 'repositoryLoad', 'repositoryUnload', 'statusPage', 'statusData', 'modelAdmin', 'modelScale', 'rolloutStart', 'rolloutStatus', 'rolloutAbort']);

/** The admin plane (/admin/* and the repository control routes): guarded by server.adminToken, or loopback-only without one. */
export function isAdminRoute(route: Route): boolean {
  return ADMIN_ROUTES.has(route.name);
}

/** The routes that run an inference (metrics, statistics, access log and spans observe them), and the protocol each counts under. */
const INFERENCE_ROUTES: Partial<Record<Route['name'], Protocol>> = { infer: 'rest', tfservingPredict: 'tfserving' };

export function inferenceProtocol(route: Route): Protocol | undefined {
  return INFERENCE_ROUTES[route.name];
}

/** The methods each kind of path takes, as an Allow header lists them: HEAD wherever GET is. */
const ALLOW_METHODS: Record<Allowed, readonly string[]> = {
  GET: ['GET', 'HEAD'],
  POST: ['POST'],
  PUT: ['PUT'],
  DELETE: ['DELETE'],
  'GET, DELETE': ['GET', 'HEAD', 'DELETE'],
};

/** GW_ERR_METHOD_NOT_ALLOWED with the methods the path does take, for the answer's Allow header (RFC 9110 wants one on every 405). */
export class MethodNotAllowedError extends InfergateError {
  readonly allowedMethods: readonly string[];

  constructor(detail: string, allowedMethods: readonly string[]) {
    super('GW_ERR_METHOD_NOT_ALLOWED', detail);
    this.allowedMethods = allowedMethods;
  }
}

/** A path's endpoint whatever the method (the GET route where a path has several) and the methods it takes; undefined: no endpoint. */
export function matchPath(url: string): { route: Route; methods: readonly string[] } | undefined {
  const found = match(segmentsOf(pathOf(url)));
  return found && { route: found[0], methods: ALLOW_METHODS[found[1]] };
}

/** Resolves a route; throws GW_ERR_ROUTE_NOT_FOUND or GW_ERR_METHOD_NOT_ALLOWED (a MethodNotAllowedError). */
export function matchRoute(method: string, url: string): Route {
  const path = pathOf(url);
  const found = match(segmentsOf(path));
  // The path is the client's text: cut, so that a 10 KB path is not echoed whole.
  if (!found) throw new InfergateError('GW_ERR_ROUTE_NOT_FOUND', `${clientText(method, 16)} ${clientText(path, 128)}`);
  const [route, allowed] = found;
  const effective = method === 'HEAD' ? 'GET' : method;
  if (allowed === 'GET, DELETE' && route.name === 'rolloutStatus' && effective === 'DELETE') return { name: 'rolloutAbort', model: route.model };
  if (effective !== allowed && !(allowed === 'GET, DELETE' && effective === 'GET')) {
    throw new MethodNotAllowedError(`${clientText(method, 16)} ${clientText(path, 128)} (allowed: ${allowed})`, ALLOW_METHODS[allowed]);
  }
  return route;
}

function pathOf(url: string): string {
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function match(s: string[]): [Route, Allowed] | undefined {
  if (s.length === 0) return [{ name: 'statusPage' }, 'GET'];
  if (s.length === 1 && s[0] === 'metrics') return [{ name: 'metrics' }, 'GET'];
  if (s[0] === 'admin' && s[1] === 'cache' && s[2] === 'models' && (s.length === 4 || (s.length === 6 && s[4] === 'versions'))) {
    const model = decode(s[3]!);
    const version = s.length === 6 ? decode(s[5]!) : undefined;
    if (model === undefined || (s.length === 6 && version === undefined)) return undefined;
    return [{ name: 'cachePurge', model, ...(version !== undefined ? { version } : {}) }, 'DELETE'];
  }
  if (s[0] === 'admin' && s[1] === 'models' && s[3] === 'rollouts' && (s.length === 4 || (s.length === 5 && s[4] === 'current'))) {
    const model = decode(s[2]!);
    if (model === undefined) return undefined;
    return s.length === 4 ? [{ name: 'rolloutStart', model }, 'POST'] : [{ name: 'rolloutStatus', model }, 'GET, DELETE'];
  }
  if (s[0] === 'admin' && s[1] === 'models' && (s.length === 3 || (s.length === 4 && s[3] === 'replicas'))) {
    const model = decode(s[2]!);
    if (model === undefined) return undefined;
    return s.length === 3 ? [{ name: 'modelAdmin', model }, 'GET'] : [{ name: 'modelScale', model }, 'PUT'];
  }
  if (s[0] === 'admin' && s.length === 3 && s[1] === 'keys' && s[2] === 'reload') return [{ name: 'keysReload' }, 'POST'];
  if (s[0] === 'admin' && s.length === 2) {
    if (s[1] === 'replicas') return [{ name: 'replicas' }, 'GET'];
    if (s[1] === 'cache') return [{ name: 'cacheStats' }, 'GET'];
    if (s[1] === 'batching') return [{ name: 'batchingStats' }, 'GET'];
    if (s[1] === 'models') return [{ name: 'modelsAdmin' }, 'GET'];
    if (s[1] === 'status') return [{ name: 'statusData' }, 'GET'];
    return undefined;
  }
  if (s[0] === 'v1') return matchTfServing(s);
  if (s[0] !== 'v2') return undefined;
  if (s.length === 1) return [{ name: 'serverMetadata' }, 'GET'];
  if (s[1] === 'repository') return matchRepository(s);
  if (s[1] === 'health' && s.length === 3) {
    if (s[2] === 'live') return [{ name: 'live' }, 'GET'];
    if (s[2] === 'ready') return [{ name: 'ready' }, 'GET'];
    return undefined;
  }
  if (s[1] !== 'models' || s.length < 3) return undefined;
  // As in Triton, /v2/models/stats is the statistics of every model, not the metadata of a model named "stats".
  // A model that is named "stats" loses only that one path: its metadata is at /v2/models/stats/versions/{v},
  // and its other routes (/v2/models/stats/ready, /infer, /stats) are longer paths that still reach it.
  if (s.length === 3 && s[2] === 'stats') return [{ name: 'modelStats' }, 'GET'];

  const model = decode(s[2]!);
  let rest = s.slice(3);
  let version: string | undefined;
  if (rest[0] === 'versions') {
    if (rest.length < 2) return undefined;
    version = decode(rest[1]!);
    rest = rest.slice(2);
  }
  if (model === undefined || (version === undefined && s[3] === 'versions')) return undefined;
  const target = version === undefined ? { model } : { model, version };
  if (rest.length === 0) return [{ name: 'modelMetadata', ...target }, 'GET'];
  if (rest.length === 1 && rest[0] === 'ready') return [{ name: 'modelReady', ...target }, 'GET'];
  if (rest.length === 1 && rest[0] === 'infer') return [{ name: 'infer', ...target }, 'POST'];
  if (rest.length === 1 && rest[0] === 'stats') return [{ name: 'modelStats', ...target }, 'GET'];
  if (rest.length === 1 && rest[0] === 'config') return [{ name: 'modelConfig', ...target }, 'GET'];
  return undefined;
}

/**
 * TF Serving's paths (its http_rest_api_util.cc grammar): /v1/models/{m}[/versions/{v}|/labels/{l}] then
 * nothing (status), /metadata, or :predict on the last segment. Names hold no "/" or ":" there; encoded, they
 * may. A version and a label both go to the registry, which resolves either. :classify and :regress need
 * TensorFlow's classification and regression signatures, which an ONNX model has not: no route.
 */
function matchTfServing(s: string[]): [Route, Method] | undefined {
  if (s[1] !== 'models' || s.length < 3) return undefined;
  const rest = s.slice(2);
  const last = rest[rest.length - 1]!;
  const colon = last.indexOf(':');
  const verb = colon === -1 ? undefined : last.slice(colon + 1);
  if (verb !== undefined) {
    if (verb !== 'predict') return undefined;
    rest[rest.length - 1] = last.slice(0, colon);
  }
  const metadata = verb === undefined && (rest.length === 2 || rest.length === 4) && rest[rest.length - 1] === 'metadata';
  if (metadata) rest.pop();
  if (rest.length !== 1 && !(rest.length === 3 && (rest[1] === 'versions' || rest[1] === 'labels'))) return undefined;
  const model = decode(rest[0]!);
  const version = rest.length === 3 ? decode(rest[2]!) : undefined;
  if (!model || (rest.length === 3 && !version)) return undefined;
  const target = version === undefined ? { model } : { model, version };
  if (verb === 'predict') return [{ name: 'tfservingPredict', ...target }, 'POST'];
  return [{ name: metadata ? 'tfservingMetadata' : 'tfservingStatus', ...target }, 'GET'];
}

function matchRepository(s: string[]): [Route, Method] | undefined {
  if (s.length === 3 && s[2] === 'index') return [{ name: 'repositoryIndex' }, 'POST'];
  if (s.length !== 5 || s[2] !== 'models') return undefined;
  const model = decode(s[3]!);
  if (model === undefined) return undefined;
  if (s[4] === 'load') return [{ name: 'repositoryLoad', model }, 'POST'];
  if (s[4] === 'unload') return [{ name: 'repositoryUnload', model }, 'POST'];
  return undefined;
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
