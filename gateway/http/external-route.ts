// Every data-plane route of a model that an external model server serves
// (config externalModels): KServe v2's and Triton's under /v2/models/{m}/…,
// TF Serving's under /v1/models/{m}…. The request goes to one of the
// server's replicas as it is — the path with the model's upstream name, the
// headers, the body's bytes — and the server's answer comes back as it is,
// streamed. No decode, no batching, no cache: the gateway does not know the
// model's signature. What it adds is the fleet's: least-connections over the
// replicas, their breakers and health checks, retries of failed connections
// and 5xx answers on another replica, the deadline, and the request metrics.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExternalModelConfig } from '../../config/external-models-schema.ts';
import { askedTimeoutMs } from '../infer/request-controls.ts';
import type { RequestRecord } from '../telemetry/request-record.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import { proxyAttempt } from '../upstream/external-proxy.ts';
import { readBody } from './body.ts';
import { headerText, TIMEOUT_HEADER } from './infer-headers.ts';
import { passedHeaders, type Reply } from './reply.ts';
import type { Reservation } from './request-budget.ts';

export type ExternalRouteDeps = {
  models: readonly ExternalModelConfig[];
  /** Replica id → the base URL of that replica of an external model (replica-sources-wiring.ts names them). */
  baseUrlOf: (replicaId: string) => string | undefined;
  dispatcher: Dispatcher;
  maxBodyBytes: number;
  now: () => number;
};

/** Answer headers passed on as the upstream sent them (the front sets its own framing and request id). */
const PASSED_HEADERS = ['content-type', 'inference-header-content-length', 'retry-after', 'cache-control'];

export class ExternalRoute {
  readonly #deps: ExternalRouteDeps;
  readonly #models: Map<string, ExternalModelConfig>;

  constructor(deps: ExternalRouteDeps) {
    this.#deps = deps;
    this.#models = new Map(deps.models.map((m) => [m.name, m]));
  }

  /** Whether an external server serves this model name. */
  has(model: string): boolean {
    return this.#models.has(model);
  }

  async handle(modelName: string, req: IncomingMessage, res: ServerResponse, reservation: Reservation | undefined, record: RequestRecord): Promise<Reply> {
    const model = this.#models.get(modelName)!;
    const { dispatcher, now } = this.#deps;
    record.model = model.name;
    record.version = '';
    const startedMs = record.receivedMs;
    const timeoutMs = askedTimeoutMs(headerText(req, TIMEOUT_HEADER), { timeoutMs: model.timeoutMs, priorityLevels: 1 }) ?? model.timeoutMs;
    const deadlineMs = startedMs + timeoutMs;
    const body = await readBody(req, { maxBytes: this.#deps.maxBodyBytes, startedMs, timeoutMs, now, ...(reservation ? { reservation } : {}) });
    record.decodedMs = now();
    const path = upstreamPath(req.url ?? '/', model);
    record.dispatchedMs = now();
    const answer = await dispatcher.run(
      model.name,
      undefined,
      (replica, attemptMs) => proxyAttempt({ req, res, body }, `${this.#deps.baseUrlOf(replica.id)}${path}`, attemptMs, replica.id),
      deadlineMs,
    );
    record.answeredMs = now();
    const headers = passedHeaders(answer.headers, PASSED_HEADERS);
    return { status: answer.statusCode ?? 502, headers, stream: answer };
  }
}

/**
 * The client's path with the model's upstream name, the rest kept (query included): /v2/models/{name}/… →
 * /v2/models/{upstreamName}/…, and TF Serving's /v1/models/{name}[/…|:predict] → /v1/models/{upstreamName}[/…|:predict].
 * The name's segment is replaced as the client wrote it (percent-encoded or not): only the route matched it.
 */
export function upstreamPath(url: string, model: ExternalModelConfig): string {
  // A TF Serving name ends at its ":" verb; a KServe name may hold one (no external model's does: the schema's pattern).
  const named = /^(\/v2\/models\/)[^/?]+|^(\/v1\/models\/)[^/?:]+/.exec(url);
  if (!named) return url;
  return `${named[1] ?? named[2]}${encodeURIComponent(model.upstreamName ?? model.name)}${url.slice(named[0].length)}`;
}
