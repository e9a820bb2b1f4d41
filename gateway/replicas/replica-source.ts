// Where replicas come from. Each source makes its replicas, adds them to the
// replica set, brings them to ready through the shared readiness probe and
// takes them out again: the supervisor spawns local worker processes
// (supervisor/supervisor.ts), a static list reaches workers at fixed
// addresses (sources/static-list.ts); DNS and autoscaling come as more
// sources. Routing, health and batching see only the set.

import type { Replica } from './replica.ts';

export type ReplicaSource = {
  /** Adds its replicas to the set and starts bringing them up. */
  start(): void;
  /** Restarts a replica of this source presumed hung (failed health checks); false when it is not this source's. */
  restart(replica: Replica, reason: string): boolean;
  /** Stops every replica of this source and takes them out of rotation. Idempotent. */
  close(): Promise<void>;
};
