// A replica set of fake replicas for unit tests of the mechanism above it
// (infer service, membership, balancing): each replica's client comes from
// the injected factory and answers infer frames by doubling every FP32
// input into an output named `y`, after an optional delay. No process, no
// socket.

import { decodeFrame, encodeFrame, type FrameBytes, type InferRequestHeader, type InferResponseHeader, type ModelSignature, type WorkerModelsBody } from '../../common/wire.ts';
import { silentLogger } from '../../common/logger.ts';
import { configSchema } from '../../config/schema.ts';
import { ReplicaHealth } from '../../gateway/health/replica-health.ts';
import type { ReplicaClient } from '../../gateway/replicas/replica-client.ts';
import { Replica } from '../../gateway/replicas/replica.ts';
import { ReplicaSet } from '../../gateway/replicas/replica-set.ts';
import { Breaker, BreakerClock } from '../../gateway/resilience/circuit-breaker.ts';
import { isReplicaFault } from '../../gateway/upstream/failure.ts';

export const SIGNATURE: ModelSignature = {
  name: 'm',
  version: '1',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
  fingerprint: 'fp-m-1',
};

export const REPORT: WorkerModelsBody = { models: [SIGNATURE], unavailable: [], warnings: [] };

type HealthSettings = ReturnType<typeof configSchema.parse>['health'];

export type FakeFleetOptions = {
  /** Milliseconds each inference takes (default 0: the next macrotask). */
  inferMs?: number;
  now?: () => number;
  health?: Partial<HealthSettings>;
  panicThresholdPercent?: number;
};

export type FakeFleet = {
  set: ReplicaSet;
  /** Infer calls served, by replica id. */
  served: Map<string, number>;
  /** A new replica serving model `m` (not yet in the set; starting). */
  make(id: string): Replica;
  /** What a source builds its own replicas with: fake clients (ready, reporting model `m`) and real health records. */
  connect: (replica: { id: string }) => ReplicaClient;
  healthFor: (id: string) => ReplicaHealth;
  /** Adds a replica and makes it ready with the standard report (joining a serving fleet, it ramps up: slow start). */
  join(id: string): Replica;
  /** Adds replicas, then makes them ready: a fleet that starts together (no slow start). */
  startTogether(ids: readonly string[]): Replica[];
  stop(): void;
};

export function fakeFleet(options: FakeFleetOptions = {}): FakeFleet {
  const config = configSchema.parse({ health: options.health ?? {} });
  const now = options.now ?? (() => performance.now());
  const clock = new BreakerClock(1_000);
  const served = new Map<string, number>();
  const set = new ReplicaSet({
    random: Math.random,
    now,
    maxWaitingPerModel: 1000,
    panicThresholdPercent: options.panicThresholdPercent ?? config.health.panicThresholdPercent,
    maxEjectionPercent: config.health.maxEjectionPercent,
    slowStart: { windowMs: config.health.slowStartWindowMs, minWeightPercent: config.health.slowStartMinWeightPercent },
    logger: silentLogger(),
  });
  const breakers: Breaker[] = [];
  const connect = ({ id }: { id: string }): ReplicaClient => ({
    infer: async (frame: FrameBytes) => {
      await new Promise((resolve) => setTimeout(resolve, options.inferMs ?? 0));
      served.set(id, (served.get(id) ?? 0) + 1);
      return doubled(frame instanceof Uint8Array ? frame : Buffer.concat(frame));
    },
    isReady: async () => true,
    models: async () => REPORT,
    stats: async () => ({ models: {} }),
    metrics: async () => [],
    loadModel: async () => REPORT,
    unloadModel: async () => ({ models: [], unavailable: [], warnings: [] }),
    close: async () => {},
    destroy: async () => {},
  });
  const healthFor = (id: string): ReplicaHealth => {
    const breaker = new Breaker(id, config.breaker, clock, isReplicaFault);
    breakers.push(breaker);
    return new ReplicaHealth({ breaker, config: config.health, now });
  };
  const make = (id: string): Replica => new Replica({ id, address: { socketPath: `/nonexistent/${id}.sock` }, serving: [{ name: 'm' }], connect, health: healthFor(id) });
  const join = (id: string): Replica => {
    const replica = make(id);
    set.add(replica);
    replica.setReport(REPORT);
    replica.transition('ready');
    return replica;
  };
  const startTogether = (ids: readonly string[]): Replica[] => {
    const replicas = ids.map(make);
    for (const replica of replicas) set.add(replica);
    for (const replica of replicas) {
      replica.setReport(REPORT);
      replica.transition('ready');
    }
    return replicas;
  };
  const stop = (): void => {
    for (const breaker of breakers) breaker.shutdown();
    clock.stop();
  };
  return { set, served, make, connect, healthFor, join, startTogether, stop };
}

/** The response frame of a request frame: every input doubled, as output `y`. */
function doubled(frame: Uint8Array): Uint8Array {
  const { header, tensors } = decodeFrame<InferRequestHeader>(frame);
  const outputs = tensors.map((t) => {
    const input = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    return { name: 'y', datatype: t.datatype, shape: t.shape, data: new Uint8Array(input.map((v) => v * 2).buffer) };
  });
  return encodeFrame<InferResponseHeader>({ model: header.model, version: header.version }, outputs);
}
