// What the gateway believes about one replica's health, apart from its
// lifecycle state (replicas/replica-state.ts): its circuit breaker, the
// active-check run and passive outlier ejection. It holds state and applies
// the pure policies of health-policy.ts; timers live in health-checker.ts and
// the cross-replica decision (how many may be ejected) in outlier-ejection.ts.

import type { Breaker, BreakerSnapshot } from '../resilience/circuit-breaker.ts';
import type { HealthConfig } from '../../config/schema.ts';
import { afterCheck, ejectionMs, FRESH_CHECK_STATE, type CheckState } from './health-policy.ts';

export type ReplicaHealthSnapshot = {
  usable: boolean;
  breaker: BreakerSnapshot;
  activeCheck: CheckState;
  consecutiveFailures: number;
  ejections: number;
  /** Ejections detected but not enforced (the model's share of ejected replicas was used up). */
  ejectionsRefused: number;
  /** Remaining ejection time; 0 when not ejected. */
  ejectedForMs: number;
};

export class ReplicaHealth {
  readonly breaker: Breaker;
  readonly #config: HealthConfig;
  readonly #now: () => number;
  #check: CheckState = FRESH_CHECK_STATE;
  #consecutiveFailures = 0;
  #ejections = 0;
  #ejectionsRefused = 0;
  #ejectedUntilMs = 0;
  #checkFailures = 0;

  constructor(options: { breaker: Breaker; config: HealthConfig; now: () => number }) {
    this.breaker = options.breaker;
    this.#config = options.config;
    this.#now = options.now;
  }

  /** May the balancer pick it (outside panic mode)? */
  get usable(): boolean {
    return this.#check.healthy && !this.ejected && this.breaker.admits();
  }

  get ejected(): boolean {
    return this.#ejectedUntilMs > this.#now();
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Whether active checks consider it healthy. */
  get passesChecks(): boolean {
    return this.#check.healthy;
  }

  /** A fresh process passed its startup check: forget what the old one did. */
  onReady(): void {
    this.#check = FRESH_CHECK_STATE;
    this.#consecutiveFailures = 0;
    this.#ejectedUntilMs = 0;
    this.breaker.reset();
  }

  onSuccess(): void {
    this.#consecutiveFailures = 0;
  }

  /** Counts a failure that was the replica's fault; true when the run reached the ejection threshold. */
  onFailure(): boolean {
    this.#consecutiveFailures++;
    const threshold = this.#config.consecutiveFailuresToEject;
    return threshold > 0 && this.#consecutiveFailures >= threshold && !this.ejected;
  }

  eject(): number {
    this.#ejections++;
    const durationMs = ejectionMs(this.#ejections, this.#config.baseEjectionMs, this.#config.maxEjectionMs);
    this.#ejectedUntilMs = this.#now() + durationMs;
    this.#consecutiveFailures = 0;
    return durationMs;
  }

  /** The ejection was detected but not enforced: count it, and start a new run of failures before the next one. */
  ejectionRefused(): void {
    this.#ejectionsRefused++;
    this.#consecutiveFailures = 0;
  }

  /** Active checks failed since the replica was made (a restart does not reset it: a counter for metrics). */
  get checkFailures(): number {
    return this.#checkFailures;
  }

  /** Records an active check; returns the new check state. */
  onCheck(passed: boolean): CheckState {
    if (!passed) this.#checkFailures++;
    this.#check = afterCheck(this.#check, passed, this.#config);
    return this.#check;
  }

  snapshot(): ReplicaHealthSnapshot {
    return {
      usable: this.usable,
      breaker: this.breaker.snapshot(),
      activeCheck: this.#check,
      consecutiveFailures: this.#consecutiveFailures,
      ejections: this.#ejections,
      ejectionsRefused: this.#ejectionsRefused,
      ejectedForMs: Math.max(0, Math.round(this.#ejectedUntilMs - this.#now())),
    };
  }
}
