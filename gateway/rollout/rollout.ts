// One rollout of a model while it runs: its traffic (the split, the shadow
// copies, what each leg did) and its stages judged by the gates. It owns no
// timer and no process: rollout-control.ts ticks it and carries out what it
// asks for (promote, roll back).
//
//   preparing ─▶ shadow ─▶ canary p₁ ─▶ … ─▶ promoting ─▶ promoted
//       │          │          │                  │
//       └──────────┴──────────┴─▶ rolling-back ◀─┘ ─▶ rolled-back
//
// Traffic goes to the candidate only in the shadow and canary stages, and
// not while no candidate replica is ready (paused).

import type { InferAnswer } from '../../common/wire.ts';
import type { InferCall, RolloutTraffic } from '../infer/infer-service.ts';
import { GateWindow, type WindowReadings } from './gate-window.ts';
import { compareAnswers } from './output-agreement.ts';
import { judgeGates, type GateReading } from './rollout-gates.ts';
import type { GatedStage, RolloutPlan } from './rollout-plan.ts';
import { nextMove, type Move } from './rollout-progress.ts';
import { splitsToCandidate } from './traffic-split.ts';

export type RolloutState = 'preparing' | 'shadow' | 'canary' | 'promoting' | 'promoted' | 'rolling-back' | 'rolled-back';

export type RolloutEvent = { at: string; state: RolloutState; detail: string };

export type RolloutStatus = {
  model: string;
  stable: string;
  candidate: string;
  state: RolloutState;
  stage: { index: number; kind: string; percent: number; startedAt: string; candidateRequests: number } | null;
  /** Why the candidate takes no traffic for now, while it does not. */
  paused: string | null;
  gates: GateReading[];
  readings: WindowReadings;
  /** Why it rolled back. */
  reason: string | null;
  shadow: { sent: number; skippedAtCap: number; inFlight: number };
  history: RolloutEvent[];
  plan: RolloutPlan;
};

export type RolloutDeps = {
  /** Runs a shadow copy on the candidate (never answered from the cache). */
  runShadow: (call: InferCall, version: string) => Promise<InferAnswer>;
  now: () => number;
  wallClockMs: () => number;
  random: () => number;
};

const HISTORY_KEPT = 50;

export class Rollout implements RolloutTraffic {
  readonly model: string;
  readonly stable: string;
  readonly candidate: string;
  readonly plan: RolloutPlan;
  #state: RolloutState = 'preparing';
  #stageIndex = -1;
  #stageStartedMs = 0;
  #stageStartedAt = '';
  #candidateRequests = 0;
  #paused: string | undefined;
  #reason: string | undefined;
  #gates: GateReading[] = [];
  readonly #history: RolloutEvent[] = [];
  readonly #window: GateWindow;
  readonly #shadow = { sent: 0, skippedAtCap: 0, inFlight: 0 };
  readonly #deps: RolloutDeps;

  constructor(model: string, stable: string, plan: RolloutPlan, deps: RolloutDeps) {
    this.model = model;
    this.stable = stable;
    this.candidate = plan.version;
    this.plan = plan;
    this.#deps = deps;
    // 512 latency samples per arm and second keep the p99 sound and the sort at each tick (every 250 ms) short under heavy traffic.
    this.#window = new GateWindow({ windowMs: plan.windowMs, maxSamplesPerBucket: 512, random: deps.random });
    this.#record('preparing', `candidate ${plan.version} against stable ${stable}: starting ${plan.candidateReplicas} candidate worker${plan.candidateReplicas === 1 ? '' : 's'}`);
  }

  get state(): RolloutState {
    return this.#state;
  }

  /** Whether it still decides anything (not promoted or rolled back). */
  get running(): boolean {
    return this.#state !== 'promoted' && this.#state !== 'rolled-back';
  }

  /** Whether the candidate takes part in traffic now (a stage of shadow or canary, and a ready candidate). */
  get #live(): boolean {
    return (this.#state === 'shadow' || this.#state === 'canary') && this.#paused === undefined;
  }

  get #stage(): GatedStage | undefined {
    const stage = this.plan.stages[this.#stageIndex];
    return stage && stage.kind !== 'promote' ? stage : undefined;
  }

  toCandidate(sessionKey: string | undefined): boolean {
    return this.#live && splitsToCandidate(this.#stage!.percent, sessionKey, this.#deps.random);
  }

  settled(candidate: boolean, latencyMs: number | undefined, failed: boolean): void {
    this.#window.record(candidate ? 'candidate' : 'stable', this.#deps.now(), latencyMs, failed);
    if (candidate) this.#candidateRequests++;
  }

  shadow(call: InferCall, stableAnswer: InferAnswer): void {
    if (!this.#live || this.#deps.random() * 100 >= this.plan.shadow.percent) return;
    if (this.#shadow.inFlight >= this.plan.shadow.maxConcurrent) {
      this.#shadow.skippedAtCap++;
      return;
    }
    this.#shadow.inFlight++;
    this.#shadow.sent++;
    // After this turn of the event loop: the client's answer is written first, and nothing here can delay or fail it.
    setImmediate(() => void this.#runShadow(call, stableAnswer));
  }

  async #runShadow(call: InferCall, stableAnswer: InferAnswer): Promise<void> {
    const { now } = this.#deps;
    const startedMs = now();
    try {
      const answer = await this.#deps.runShadow(call, this.candidate);
      this.settled(true, now() - startedMs, false);
      this.#window.compare(now(), compareAnswers(stableAnswer, answer));
    } catch {
      this.settled(true, now() - startedMs, true);
    } finally {
      this.#shadow.inFlight--;
    }
  }

  /** The candidate's replicas are up: the first stage begins. */
  begin(): void {
    this.#enter(0);
  }

  /** Pauses the candidate's traffic while `why` holds (undefined: resumes). */
  pause(why: string | undefined): void {
    if (why === this.#paused) return;
    this.#paused = why;
    if (this.#state === 'shadow' || this.#state === 'canary') this.#record(this.#state, why === undefined ? 'resumed' : `paused: ${why}`);
  }

  /** Reads the gates and moves on when the stage is done: 'promote' when the next stage is promotion, 'rollback' on a failed gate. */
  tick(): Move['move'] | 'promote' {
    const stage = this.#stage;
    if (!stage || (this.#state !== 'shadow' && this.#state !== 'canary')) return 'stay';
    const nowMs = this.#deps.now();
    this.#gates = judgeGates(this.plan.gates, stage.gates, this.#window.readings(nowMs));
    const move = nextMove({ stage, startedAtMs: this.#stageStartedMs, candidateRequests: this.#candidateRequests }, this.#gates, nowMs);
    // A failed gate rolls back even while paused; a paused stage does not advance.
    if (move.move === 'rollback') {
      this.#reason = move.reason;
      return 'rollback';
    }
    if (move.move !== 'advance' || this.#paused !== undefined) return 'stay';
    if (this.plan.stages[this.#stageIndex + 1]?.kind === 'promote') return 'promote';
    this.#enter(this.#stageIndex + 1);
    return 'advance';
  }

  /** Promotion begins: requests naming no version stay on stable until the stable label moves to the candidate. */
  promoting(): void {
    this.#stageIndex = this.plan.stages.length - 1;
    this.#state = 'promoting';
    this.#record('promoting', `gates passed: every replica loads ${this.candidate}, then the stable label moves to it`);
  }

  /** Rolling back: no request goes to the candidate from now on. */
  rollingBack(reason: string): void {
    this.#reason ??= reason;
    this.#state = 'rolling-back';
    this.#record('rolling-back', this.#reason);
  }

  finished(state: 'promoted' | 'rolled-back', detail: string): void {
    this.#state = state;
    this.#record(state, detail);
  }

  /** Why it is rolling back or rolled back. */
  get reason(): string | undefined {
    return this.#reason;
  }

  status(): RolloutStatus {
    const stage = this.plan.stages[this.#stageIndex];
    return {
      model: this.model,
      stable: this.stable,
      candidate: this.candidate,
      state: this.#state,
      stage: stage
        ? { index: this.#stageIndex, kind: stage.kind, percent: stage.kind === 'promote' ? 100 : stage.percent, startedAt: this.#stageStartedAt, candidateRequests: this.#candidateRequests }
        : null,
      paused: this.#paused ?? null,
      gates: this.#gates,
      readings: this.#window.readings(this.#deps.now()),
      reason: this.#reason ?? null,
      shadow: { ...this.#shadow },
      history: [...this.#history],
      plan: this.plan,
    };
  }

  /** The share of requests naming no version that the candidate takes now (for the metrics). */
  get candidatePercent(): number {
    if (this.#state === 'promoted') return 100;
    return this.#live ? this.#stage!.percent : 0;
  }

  #enter(index: number): void {
    const stage = this.plan.stages[index];
    if (!stage || stage.kind === 'promote') return;
    this.#stageIndex = index;
    this.#stageStartedMs = this.#deps.now();
    this.#stageStartedAt = new Date(this.#deps.wallClockMs()).toISOString();
    this.#candidateRequests = 0;
    this.#state = stage.kind;
    const share = stage.kind === 'canary' ? `${stage.percent} % of requests naming no version` : `${this.plan.shadow.percent} % of stable answers copied`;
    this.#record(stage.kind, `stage ${index + 1} of ${this.plan.stages.length}: ${share}; at least ${stage.minDurationMs} ms and ${stage.minRequests} candidate requests; gates ${stage.gates.join(', ')}`);
  }

  #record(state: RolloutState, detail: string): void {
    this.#history.push({ at: new Date(this.#deps.wallClockMs()).toISOString(), state, detail });
    if (this.#history.length > HISTORY_KEPT) this.#history.shift();
  }
}
