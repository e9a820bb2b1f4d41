// What the gateway believes about one replica's health, apart from its
// lifecycle state (replica-state.ts): its circuit breaker, the active-check
// run, passive outlier ejection and the slow-start ramp. It holds state and
// applies the pure policies of health-policy.ts; timers live in
// health-checker.ts and cross-replica decisions (how many may be ejected) in
// the replica set.

import type { Breaker, BreakerSnapshot } from '../resilience/circuit-breaker.ts';
import type { HealthConfig } from '../../config/schema.ts';
import { afterCheck, ejectionMs, FRESH_CHECK_STATE, slowStartWeight, type CheckState } from './health-policy.ts';

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
  /** Slow-start traffic weight (1 = a full share). */
  weight: number;
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
  #readySinceMs = -Infinity;

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

  weight(): number {
    return slowStartWeight(this.#now() - this.#readySinceMs, this.#config.slowStartWindowMs, this.#config.slowStartMinWeightPercent);
  }

  /**
   * A fresh process passed its startup check: forget what the old one did.
   * `slowStart`: ramp its traffic share up (it joins replicas already serving).
   */
  onReady(slowStart: boolean): void {
    this.#readySinceMs = slowStart ? this.#now() : -Infinity;
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

  /** Records an active check; returns the new check state. */
  onCheck(passed: boolean): CheckState {
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
      weight: Number(this.weight().toFixed(3)),
    };
  }
}
