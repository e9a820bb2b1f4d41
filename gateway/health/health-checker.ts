// Active health checks: every ready replica's readiness endpoint is asked
// every checkIntervalMs ± jitter (each replica on its own timer, so checks of
// many replicas never align). Results go through the pure check policy
// (replica-health.ts → health-policy.ts); a replica that failed
// restartAfterFailedChecks checks in a row — a hung process: alive, not
// answering — is handed to `restart` (its source restarts it: the supervisor kills and
// respawns a local worker).
//
// A busy worker answers between inferences (onnxruntime-node runs on the
// worker's JS thread), so checkTimeoutMs must exceed the longest batch.

import type { Logger } from '../../common/logger.ts';
import type { HealthConfig } from '../../config/schema.ts';
import { nextCheckDelayMs } from './health-policy.ts';
import type { ReplicaHealth } from './replica-health.ts';

/** What the checker reads of a replica: starting, draining and stopped replicas belong to their source. */
export type CheckedReplica = {
  readonly id: string;
  readonly state: string;
  readonly generation: number;
  readonly health: ReplicaHealth;
  readonly client: { isReady(timeoutMs: number): Promise<boolean> };
};

/** The fleet as the checker follows it: its members now, and word of each that joins or leaves. */
export type Membership<R> = {
  readonly replicas: readonly R[];
  on(event: 'added' | 'removed', listener: (replica: R) => void): unknown;
};

export type HealthCheckerDeps<R extends CheckedReplica> = {
  replicas: Membership<R>;
  config: HealthConfig;
  random: () => number;
  logger: Logger;
  /** Restart a replica presumed hung: its source's job. */
  restart: (replica: R, reason: string) => void;
};

export class HealthChecker<R extends CheckedReplica> {
  readonly #deps: HealthCheckerDeps<R>;
  readonly #timers = new Map<R, NodeJS.Timeout>();
  #closed = false;

  constructor(deps: HealthCheckerDeps<R>) {
    this.#deps = deps;
  }

  /** Starts checking every replica in the set now and every one added later; stops checking one that leaves. */
  start(): void {
    for (const replica of this.#deps.replicas.replicas) this.#schedule(replica);
    this.#deps.replicas.on('added', (replica) => this.#schedule(replica));
    this.#deps.replicas.on('removed', (replica) => {
      clearTimeout(this.#timers.get(replica));
      this.#timers.delete(replica);
    });
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #schedule(replica: R): void {
    if (this.#closed || !this.#deps.replicas.replicas.includes(replica)) return;
    const { checkIntervalMs, checkJitterPercent } = this.#deps.config;
    const timer = setTimeout(() => void this.#check(replica), nextCheckDelayMs(checkIntervalMs, checkJitterPercent, this.#deps.random));
    timer.unref();
    this.#timers.set(replica, timer);
  }

  async #check(replica: R): Promise<void> {
    if (replica.state === 'ready') {
      const generation = replica.generation;
      const passed = await replica.client.isReady(this.#deps.config.checkTimeoutMs);
      if (this.#closed) return;
      // The answer is about a process that is gone when the replica restarted meanwhile.
      if (replica.generation === generation && replica.state === 'ready') this.#record(replica, passed);
    }
    this.#schedule(replica);
  }

  #record(replica: R, passed: boolean): void {
    const wasHealthy = replica.health.passesChecks;
    const { healthy, failedInARow } = replica.health.onCheck(passed);
    if (wasHealthy !== healthy) {
      if (healthy) this.#deps.logger.info({ replica: replica.id }, 'health checks pass again; back in rotation');
      else this.#deps.logger.warn({ replica: replica.id, failedInARow }, 'health checks failed; out of rotation');
    }
    const { restartAfterFailedChecks } = this.#deps.config;
    if (restartAfterFailedChecks > 0 && failedInARow >= restartAfterFailedChecks) {
      this.#deps.restart(replica, `${failedInARow} health checks failed in a row`);
    }
  }
}
