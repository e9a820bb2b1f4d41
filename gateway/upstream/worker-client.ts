// The gateway's HTTP client for one worker, over undici with keep-alive
// connections (a unix socket for local workers, TCP for remote ones). It only
// moves bytes and classifies failures; choosing a worker and retrying belong
// to the dispatcher.

import { Pool } from 'undici';
import { FRAME_CONTENT_TYPE, WORKER_ROUTES, type FrameBytes, type WorkerModelsBody } from '../../common/wire.ts';
import type { WorkerMetricsBody, WorkerStatsBody } from '../../common/worker-control.ts';
import { classifyAnswer, classifyThrown } from './failure.ts';
import { MuxClient } from './mux-client.ts';
import type { ReplicaAddress, ReplicaClient, ReplicaClientFactory } from '../replicas/replica-client.ts';

/** How the gateway reaches workers over TCP: the shared worker token they ask for, and TLS (with the CA that signed their certificates). */
export type RemoteAccess = { token?: string; tls?: { ca?: Buffer } };

export type WorkerClientOptions = {
  id: string;
  /** With muxSocketPath or muxPort, infer goes over the worker's multiplexed channel (mux-client.ts) instead of POST /infer. */
  address: ReplicaAddress;
  maxConnections: number;
  /** Applies to TCP addresses (a local worker's unix sockets need neither). */
  remote?: RemoteAccess;
};

/** The factory of worker clients the replica set's members are built with. */
export function workerClientFactory(settings: { maxConnections: number; remote?: RemoteAccess }): ReplicaClientFactory {
  return ({ id, address }) => new WorkerClient({ id, address, maxConnections: settings.maxConnections, ...(settings.remote ? { remote: settings.remote } : {}) });
}

export class WorkerClient implements ReplicaClient {
  readonly id: string;
  readonly address: ReplicaAddress;
  #pool: Pool;
  #mux: MuxClient | null;
  /** Sent with every HTTP call: the worker token, when a remote worker asks for one. */
  readonly #headers: Record<string, string>;

  constructor(options: WorkerClientOptions) {
    this.id = options.id;
    const { address } = options;
    this.address = address;
    const local = 'socketPath' in address;
    const remote = local ? {} : (options.remote ?? {});
    this.#headers = remote.token === undefined ? {} : { authorization: `Bearer ${remote.token}` };
    const origin = local ? 'http://localhost' : `${remote.tls ? 'https' : 'http'}://${hostInUrl(address.host)}:${address.port}`;
    this.#pool = new Pool(origin, {
      connections: options.maxConnections,
      socketPath: local ? address.socketPath : undefined,
      ...(remote.tls ? { connect: { ...(remote.tls.ca ? { ca: remote.tls.ca } : {}), minVersion: 'TLSv1.2' as const } } : {}),
      // Timeouts are per request (the request's own deadline), not per pool.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    if (local) this.#mux = address.muxSocketPath ? new MuxClient({ id: options.id, target: { socketPath: address.muxSocketPath } }) : null;
    else {
      const target = { host: address.host, port: address.muxPort ?? 0, ...(remote.tls ? { tls: remote.tls } : {}) };
      this.#mux = address.muxPort === undefined ? null : new MuxClient({ id: options.id, target, ...(remote.token !== undefined ? { token: remote.token } : {}) });
    }
  }

  /** Sends one binary infer frame; resolves with the response frame. Throws UpstreamFailure. */
  async infer(frame: FrameBytes, timeoutMs: number): Promise<Uint8Array> {
    if (this.#mux) return this.#mux.infer(frame, timeoutMs);
    // The HTTP path (kept for A/B measurements) sends one body.
    const frameBody = frame instanceof Uint8Array ? frame : Buffer.concat(frame);
    try {
      const { statusCode, body } = await this.#pool.request({
        path: WORKER_ROUTES.infer,
        method: 'POST',
        headers: { ...this.#headers, 'content-type': FRAME_CONTENT_TYPE },
        body: frameBody,
        headersTimeout: Math.max(1, Math.ceil(timeoutMs)),
        bodyTimeout: Math.max(1, Math.ceil(timeoutMs)),
      });
      const bytes = new Uint8Array(await body.arrayBuffer());
      if (statusCode >= 200 && statusCode < 300) return bytes;
      throw classifyAnswer(statusCode, parseJson(bytes));
    } catch (err) {
      throw classifyThrown(err, this.id);
    }
  }

  /** True when the worker answers its readiness check with 200. Never throws. */
  async isReady(timeoutMs: number): Promise<boolean> {
    try {
      const { statusCode, body } = await this.#pool.request({
        path: WORKER_ROUTES.ready,
        method: 'GET',
        headers: this.#headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await body.dump();
      return statusCode === 200;
    } catch {
      return false;
    }
  }

  /** What the worker loaded, what it could not, and warnings (GET /models). Throws UpstreamFailure. */
  models(timeoutMs: number): Promise<WorkerModelsBody> {
    return this.#callJson<WorkerModelsBody>(WORKER_ROUTES.models, timeoutMs);
  }

  /** What the worker ran, per model version. Throws UpstreamFailure. */
  stats(timeoutMs: number): Promise<WorkerStatsBody> {
    return this.#callJson<WorkerStatsBody>(WORKER_ROUTES.stats, timeoutMs);
  }

  /** The worker's metrics registry as prom-client JSON (GET /metrics). Throws UpstreamFailure. */
  metrics(timeoutMs: number): Promise<WorkerMetricsBody> {
    return this.#callJson<WorkerMetricsBody>(WORKER_ROUTES.metrics, timeoutMs);
  }

  loadModel(name: string, timeoutMs: number, versions?: readonly string[]): Promise<WorkerModelsBody> {
    const body = versions === undefined ? undefined : JSON.stringify({ versions });
    return this.#callJson<WorkerModelsBody>(WORKER_ROUTES.modelLoad.replace('{name}', encodeURIComponent(name)), timeoutMs, 'POST', body);
  }

  unloadModel(name: string, timeoutMs: number): Promise<WorkerModelsBody> {
    return this.#callJson<WorkerModelsBody>(WORKER_ROUTES.modelUnload.replace('{name}', encodeURIComponent(name)), timeoutMs, 'POST');
  }

  /** A control call answered with JSON: GET, or a POST with a JSON body or none. */
  async #callJson<T>(path: string, timeoutMs: number, method: 'GET' | 'POST' = 'GET', json?: string): Promise<T> {
    try {
      const sent = json === undefined ? { headers: this.#headers } : { body: json, headers: { ...this.#headers, 'content-type': 'application/json' } };
      const { statusCode, body } = await this.#pool.request({ path, method, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...sent });
      const parsed = parseJson(new Uint8Array(await body.arrayBuffer()));
      if (statusCode !== 200) throw classifyAnswer(statusCode, parsed);
      return parsed as T;
    } catch (err) {
      throw classifyThrown(err, this.id);
    }
  }

  /** Closes idle connections once in-flight requests finish. */
  async close(): Promise<void> {
    await Promise.all([this.#pool.close(), this.#mux?.close()]);
  }

  /** Aborts every connection now (the worker is known to be gone). */
  async destroy(): Promise<void> {
    await Promise.all([this.#pool.destroy(), this.#mux?.destroy()]);
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return { code: 'GW_ERR_INTERNAL', message: 'worker answered a body that is not JSON' };
  }
}

/** An IPv6 address is bracketed in a URL. */
function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
