// A front process's side of server.processes > 1: it hears the leader's
// mirror of the fleet (the workers it finds, the models, the rollouts'
// splits), answers the leader's metrics and purge requests, and hands the
// routes only the leader can answer (admin, repository, metrics, statistics)
// to the leader's control socket. Data-plane routes (infer, health,
// metadata, model config, TF Serving's) stay in the front.

import { request, Agent } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { ModelStatsBody } from '../observability/inference-stats.ts';
import type { RolloutTraffic } from '../infer/infer-service.ts';
import type { FindWorkers } from '../sources/discovery.ts';
import { passedHeaders, type Reply } from '../http/reply.ts';
import type { Route } from '../http/routes.ts';
import { mirroredTraffic, type FleetMirror } from './fleet-mirror.ts';
import type { FrontMessage, LeaderMessage, ProcessMetrics } from './process-messages.ts';

/** The routes a front answers itself; every other one is the leader's. */
const FRONT_ROUTES: ReadonlySet<Route['name']> = new Set(['live', 'ready', 'serverMetadata', 'modelMetadata', 'modelReady', 'infer', 'modelConfig', 'tfservingStatus', 'tfservingMetadata', 'tfservingPredict']);

export function isLeaderRoute(route: Route): boolean {
  return !FRONT_ROUTES.has(route.name);
}

/** The IPC channel to the leader: the front's own `process`. */
export type LeaderChannel = Pick<NodeJS.Process, 'send' | 'on' | 'connected'>;

export type FrontLinkDeps = {
  channel: LeaderChannel;
  /** "front-<i>": this front's process label in the metrics. */
  process: string;
  /** The leader's control socket. */
  controlSocketPath: string;
  /** A forwarded request's deadline: as long as a model load may take (a repository load answers once it is done). */
  forwardTimeoutMs: number;
  random: () => number;
  logger: Logger;
};

/** What the front does when the leader asks: apply a mirror, hand over its metrics, purge its cache tier. */
export type FrontActions = {
  mirror(mirror: FleetMirror): void;
  metrics(): Promise<ProcessMetrics['metrics']>;
  stats(model: string | undefined, version: string | undefined): ModelStatsBody;
  purge(model: string, version: string | undefined): Promise<unknown>;
};

/**
 * Request headers that stay in the front: the hop-by-hop ones, and Accept-Encoding, so that the leader answers
 * uncompressed (Content-Encoding is not among the headers kept below: this front compresses the answer). HTTP/2's
 * pseudo-headers (":path"), which the HTTP/1.1 control socket cannot carry, stay too.
 */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'accept-encoding']);

/** Response headers a forwarded answer keeps (the front sets its own framing and request id). */
const KEPT_HEADERS = ['content-type', 'retry-after', 'www-authenticate', 'cache-control'];

export class FrontLink {
  readonly #deps: FrontLinkDeps;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 8 });
  #mirror: FleetMirror | null = null;
  #traffic = new Map<string, RolloutTraffic>();

  constructor(deps: FrontLinkDeps) {
    this.#deps = deps;
  }

  /** The leader's local workers, as last mirrored. */
  readonly findWorkers: FindWorkers = async () => this.#mirror?.workers ?? [];

  /** A model's rollout split as the leader last passed it on. */
  traffic(model: string): RolloutTraffic | undefined {
    return this.#traffic.get(model);
  }

  /** Starts hearing the leader; tells it this front serves. */
  start(actions: FrontActions): void {
    this.#deps.channel.on('message', (message: LeaderMessage) => void this.#onMessage(message, actions));
    this.#send({ kind: 'serving' });
  }

  /** Sends a route only the leader answers to its control socket; its answer comes back as this front's. */
  forward(req: IncomingMessage): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !NOT_FORWARDED.has(name) && !name.startsWith(':')));
      const upstream = request({ socketPath: this.#deps.controlSocketPath, agent: this.#agent, method: req.method, path: req.url, headers, timeout: this.#deps.forwardTimeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const kept = passedHeaders(res.headers, KEPT_HEADERS);
          resolve({ status: res.statusCode ?? 502, headers: kept, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      const unreachable = (err: Error) => reject(new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `the leader process did not answer (${err.message})`));
      upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${this.#deps.forwardTimeoutMs} ms`)));
      upstream.on('error', unreachable);
      req.pipe(upstream);
    });
  }

  /** Tells the leader this front's models have settled (each version READY or UNAVAILABLE). */
  ready(): void {
    this.#send({ kind: 'ready' });
  }

  close(): void {
    this.#agent.destroy();
  }

  async #onMessage(message: LeaderMessage, actions: FrontActions): Promise<void> {
    switch (message.kind) {
      case 'mirror': {
        this.#mirror = message.mirror;
        this.#traffic = new Map(Object.entries(message.mirror.rollouts).map(([model, split]) => [model, mirroredTraffic(split, this.#deps.random)]));
        actions.mirror(message.mirror);
        return;
      }
      case 'metrics':
        this.#send({ kind: 'metrics', id: message.id, process: this.#deps.process, metrics: await actions.metrics() });
        return;
      case 'stats': {
        let body: ModelStatsBody | null = null;
        try {
          body = actions.stats(message.model, message.version);
        } catch {
          // The leader answers the 404 or 400 itself, from its own registry.
        }
        this.#send({ kind: 'stats', id: message.id, body });
        return;
      }
      case 'purge':
        try {
          await actions.purge(message.model, message.version);
        } catch (err) {
          this.#deps.logger.warn({ err, model: message.model }, 'cache purge asked by the leader failed');
        }
        this.#send({ kind: 'purged', id: message.id });
    }
  }

  #send(message: FrontMessage): void {
    if (this.#deps.channel.connected) this.#deps.channel.send!(message);
  }
}
