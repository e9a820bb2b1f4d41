// How the gateway reaches one replica, whatever kind it is. The replica set,
// the dispatcher, the readiness probe and the health checker see only this;
// a factory (upstream/worker-client.ts for workers) builds one per replica
// process, as undici's pools build their upstream clients, so tests pass
// fakes through the same door.

import type { FrameBytes, WorkerModelsBody } from '../../common/wire.ts';
import type { WorkerMetricsBody, WorkerStatsBody } from '../../common/worker-control.ts';

/**
 * Where a replica listens: a unix socket (with the multiplexed infer channel beside it when `muxSocketPath` is
 * set), or a TCP host and port.
 */
/** A local worker's unix sockets, or a worker over TCP: its HTTP port and, when it has one, its mux port (same host). */
export type ReplicaAddress = { socketPath: string; muxSocketPath?: string } | { host: string; port: number; muxPort?: number };

export type ReplicaClient = {
  /** Sends one binary infer frame; resolves with the response frame. Rejects with an UpstreamFailure. */
  infer(frame: FrameBytes, timeoutMs: number): Promise<Uint8Array>;
  /** Whether the replica answers its readiness check; never rejects. */
  isReady(timeoutMs: number): Promise<boolean>;
  /** What the replica loaded, what it could not, and warnings. */
  models(timeoutMs: number): Promise<WorkerModelsBody>;
  /** What it ran, per model version. */
  stats(timeoutMs: number): Promise<WorkerStatsBody>;
  /** Its metrics registry as prom-client JSON, every sample labelled with its replica id (merged into GET /metrics). */
  metrics(timeoutMs: number): Promise<WorkerMetricsBody>;
  /** (Re)loads one model from the repository in the running replica: the versions named, else those its version policy serves (warmed up); resolves with its new report. */
  loadModel(name: string, timeoutMs: number, versions?: readonly string[]): Promise<WorkerModelsBody>;
  /** Unloads one model once the requests running on it finish; resolves with its new report. */
  unloadModel(name: string, timeoutMs: number): Promise<WorkerModelsBody>;
  /** Closes idle connections once in-flight requests finish. */
  close(): Promise<void>;
  /** Aborts every connection now (the process is known to be gone). */
  destroy(): Promise<void>;
};

/** Builds the client of one replica process (called again for each restart). */
export type ReplicaClientFactory = (replica: { id: string; address: ReplicaAddress }) => ReplicaClient;

export function describeAddress(address: ReplicaAddress): string {
  return 'socketPath' in address ? `unix:${address.socketPath}` : `${address.host}:${address.port}`;
}
