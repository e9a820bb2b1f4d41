// Active health checks: every ready replica's readiness endpoint is asked
// every checkIntervalMs ± jitter (each replica on its own timer, so checks of
// many replicas never align). Results go through the pure check policy
// (replica-health.ts → health-policy.ts); a replica that failed
// restartAfterFailedChecks checks in a row — a hung process: alive, not
// answering — is handed to `restart` (the supervisor kills and respawns it).
//
// A busy worker answers between inferences (onnxruntime-node runs on the
// worker's JS thread), so checkTimeoutMs must exceed the longest batch.

import type { HealthConfig } from '../../config/schema.ts';
import type { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import { nextCheckDelayMs } from './health-policy.ts';

export type HealthCheckerOptions = {
  replicas: ReplicaSet;
  config: HealthConfig;
  random: () => number;
  log: (message: string) => void;
  /** Restart a replica presumed hung; the supervisor's job. */
  restart: (replica: Replica, reason: string) => void;
};

export class HealthChecker {
  readonly #o: HealthCheckerOptions;
  readonly #timers = new Map<Replica, NodeJS.Timeout>();
  #closed = false;

  constructor(options: HealthCheckerOptions) {
    this.#o = options;
  }

  /** Starts checking every replica in the set now and every one added later. */
  start(): void {
    for (const replica of this.#o.replicas.replicas) this.#schedule(replica);
    this.#o.replicas.on('added', (replica: Replica) => this.#schedule(replica));
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #schedule(replica: Replica): void {
    if (this.#closed) return;
    const { checkIntervalMs, checkJitterPercent } = this.#o.config;
    const timer = setTimeout(() => void this.#check(replica), nextCheckDelayMs(checkIntervalMs, checkJitterPercent, this.#o.random));
    timer.unref();
    this.#timers.set(replica, timer);
  }

  async #check(replica: Replica): Promise<void> {
    // Starting, draining and stopped replicas belong to the supervisor.
    if (replica.state === 'ready') {
      const generation = replica.generation;
      const passed = await replica.client.isReady(this.#o.config.checkTimeoutMs);
      if (this.#closed) return;
      // The answer is about a process that is gone when the replica restarted meanwhile.
      if (replica.generation === generation && replica.state === 'ready') this.#record(replica, passed);
    }
    this.#schedule(replica);
  }

  #record(replica: Replica, passed: boolean): void {
    const wasHealthy = replica.health.passesChecks;
    const { healthy, failedInARow } = replica.health.onCheck(passed);
    if (wasHealthy !== healthy) {
      this.#o.log(`${replica.id}: ${healthy ? 'health checks pass again; back in rotation' : `${failedInARow} health checks failed in a row; out of rotation`}`);
    }
    const { restartAfterFailedChecks } = this.#o.config;
    if (restartAfterFailedChecks > 0 && failedInARow >= restartAfterFailedChecks) {
      this.#o.restart(replica, `${failedInARow} health checks failed in a row`);
    }
  }
}
