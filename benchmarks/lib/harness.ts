// The mechanism scenarios are written against: start a system (its own
// processes), check it answers, warm it up, apply a load (closed or open
// loop) while recording, search for capacity, and stop everything — scenarios
// only say which systems, which loads, in which order.
//
//   scenario ──▶ withSystem(name) ──▶ measure(load) ──▶ closed-loop / open-loop ──▶ Recorder
//                      │   variant(format)  │              grpc-loop (gRPC bodies) ──┘
//                      │                searchCapacity ──▶ capacity-search policy ─┘
//                      └── systems.ts (processes.ts) ── stopped in `finally`

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TensorSpec } from '../../common/wire.ts';
import { CLASSIFIER_LIKE_INPUTS, createBodySource, type BodyFormat, type BodySource } from './bodies.ts';
import { nextStep, probePassed, type SearchSettings } from './capacity-search.ts';
import { cpuBetween, sampleCpu } from './cpu.ts';
import type { Answer } from './open-loop.ts';
import type { BenchOptions } from './options.ts';
import { freePort, type ProcessGroup } from './processes.ts';
import type { ProgressLine } from './progress.ts';
import { formatRate, loadLabel } from './report-markdown.ts';
import type { CapacityProbe, CapacityRecord, LoadSpec, RunRecord, RunSummary } from './results.ts';
import { SYSTEMS, type StartedSystem, type SystemName } from './systems.ts';
import { checkAnswers, loadTarget, settle, singleRequest, sleep } from './target-load.ts';

/** CPU used by processes outside the benchmark (% of one core) above which a run is flagged as disturbed. */
const DISTURBED_PERCENT = 20;

export type HarnessDeps = {
  options: BenchOptions;
  root: string;
  processes: ProcessGroup;
  progress: ProgressLine;
  /** Aborted on SIGINT: loads stop, no new system starts. */
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
};

export type SystemSettings = {
  replicas?: number;
  /** Gateway processes serving its port (gateway only; default 1): server.processes. */
  processes?: number;
  gatewayConfig?: Record<string, unknown>;
  /** Model to call (default --model): a scenario may compare several in one run. */
  model?: string;
  /** Name of the runs in reports (default: the system's name), e.g. "gateway batching on". */
  label?: string;
  /** Warm-up seconds for this system (default --warmup); 0 when the first seconds are the point (a fault present from the start). */
  warmupS?: number;
  /** Share of requests that repeat a few hot bodies (sent once before measuring, so a cache holds them). */
  hitRatio?: number;
  /** Model repository for this system (default --models), e.g. a copy whose config.yaml turns autoscaling on. */
  modelsDir?: string;
  /** Gateway (and baseline): also serve KServe v2 gRPC, on a free port (variant() then calls it with format grpc-raw). */
  grpc?: boolean;
  /** Request headers every HTTP request to this system carries besides its body's (e.g. `authorization` for auth.mode keys): loads, checks, warm-up and the start's metadata read. */
  headers?: Record<string, string>;
};

/** For runs where failures are the point (chaos). */
export type MeasureExtras = {
  /** Judge the run against --max-error-rate (default true); a run without a single answer fails anyway. */
  judged?: boolean;
  /** Open loop: sees each request's outcome. */
  observe?: (answer: Answer) => void;
  /** Open loop: observed 2xx answers carry their body's `model_version` (the bodies are then parsed). */
  answerVersions?: boolean;
  /** Started when the load starts (with its performance.now() time 0), awaited after it ends: events to apply meanwhile. */
  alongside?: (startMs: number) => Promise<void>;
  /** The round of a run that a scenario repeats interleaved (recorded with it). */
  round?: number;
};

/** A started system with the bodies it takes (their headers include the settings' `headers`, which `headers` keeps for its variants). */
export type Target = { system: StartedSystem; bodies: BodySource; label: string; model: string; headers?: Record<string, string> };

export class Harness {
  readonly options: BenchOptions;
  readonly runs: RunRecord[] = [];
  readonly capacities: CapacityRecord[] = [];
  readonly notes: string[] = [];
  /** The config overlay the gateway last ran with (recorded in the report). */
  gatewayConfig: Record<string, unknown> | undefined;
  readonly #deps: HarnessDeps;
  #failed = false;
  #lastInputs: readonly TensorSpec[] | null = null;

  constructor(deps: HarnessDeps) {
    this.#deps = deps;
    this.options = deps.options;
  }

  get failed(): boolean {
    return this.#failed;
  }

  get aborted(): boolean {
    return this.#deps.signal.aborted;
  }

  /** Aborted on SIGINT: long waits in a scenario should end with it. */
  get signal(): AbortSignal {
    return this.#deps.signal;
  }

  note(message: string): void {
    this.notes.push(message);
    this.#deps.progress.note(message);
  }

  fail(message: string): void {
    this.#failed = true;
    this.note(`FAILED: ${message}`);
  }

  /** Starts `name`, checks and warms it up, runs `fn`, and always stops it. Unavailable systems are skipped with a note. */
  async withSystem(name: SystemName, settings: SystemSettings, fn: (target: Target) => Promise<void>): Promise<void> {
    if (this.aborted) return;
    const o = this.options;
    const definition = SYSTEMS[name];
    const why = this.#unavailable(name);
    if (why) return this.note(`${name} skipped: ${why}`);

    const replicas = settings.replicas ?? o.replicas;
    const processes = settings.processes ?? 1;
    const model = settings.model ?? o.model;
    const label = settings.label ?? name;
    const tmpDir = mkdtempSync(join(tmpdir(), 'infergate-bench-'));
    const workers = name === 'gateway' || name === 'baseline' || name === 'nginx' ? ` with ${replicas} workers${processes > 1 ? ` and ${processes} processes` : ''}` : '';
    this.#deps.progress.note(`${label}: starting${workers}…`);
    // Bodies are unique by default, so a cache could only cost; scenarios that measure it turn it on.
    const gatewayConfig = { cache: { enabled: false }, models: { include: [model] }, ...settings.gatewayConfig };
    if (name === 'gateway') this.gatewayConfig = gatewayConfig;
    let system: StartedSystem | null = null;
    try {
      const grpcPort = settings.grpc ? await freePort() : undefined;
      system = await definition.start({
        processes: this.#deps.processes,
        root: this.#deps.root,
        modelsDir: settings.modelsDir ?? o.modelsDir,
        model,
        replicas,
        gatewayProcesses: processes,
        tmpDir,
        gatewayConfig,
        readyTimeoutMs: o.readyTimeoutMs,
        ...(o.baseline !== undefined && { baselineRoot: o.baseline }),
        ...(grpcPort !== undefined && { grpcPort }),
        ...(settings.headers !== undefined && { requestHeaders: settings.headers }),
      });
      if (system.signature) this.#lastInputs = system.signature.inputs;
      const bodies = this.#bodySource(system, model, system.format, settings.hitRatio, settings.headers);
      const target: Target = { system, bodies, label, model, ...(settings.headers !== undefined && { headers: settings.headers }) };
      await checkAnswers(target, this.options.timeoutMs);
      for (const body of bodies.hot ?? []) await singleRequest(target, body, this.options.timeoutMs);
      await this.#warmUp(target, settings.warmupS ?? o.warmupS);
      await fn(target);
    } catch (err) {
      this.fail(`${name}: ${(err as Error).message}`);
    } finally {
      await system?.stop();
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }

  /**
   * The same started system called another way, as a target of its own: the
   * bodies in `format` (e.g. REST binary or gRPC next to REST JSON, against one
   * gateway process), checked with one request and warmed up as a started
   * system is. Its runs are recorded under `label`, with the system's CPU.
   */
  async variant(target: Target, options: { format: BodyFormat; label: string; warmupS?: number }): Promise<Target> {
    const variant: Target = { ...target, bodies: this.#bodySource(target.system, target.model, options.format, undefined, target.headers), label: options.label };
    await checkAnswers(variant, this.options.timeoutMs);
    await this.#warmUp(variant, options.warmupS ?? this.options.warmupS);
    return variant;
  }

  /**
   * Several systems running at once, for scenarios that interleave their
   * runs (A B C, A B C, …) so that a machine whose speed drifts during the
   * benchmark weighs on every system alike. Systems that cannot run here
   * (nginx not installed) are skipped with a note; `fn` runs only if all the
   * others started.
   */
  async withSystems(all: ReadonlyArray<readonly [SystemName, SystemSettings]>, fn: (targets: Target[]) => Promise<void>): Promise<void> {
    const systems = all.filter(([name]) => {
      const why = this.#unavailable(name);
      if (why) this.note(`${name} skipped: ${why}`);
      return !why;
    });
    const started: Target[] = [];
    const startFrom = async (i: number): Promise<void> => {
      if (i === systems.length) return fn(started);
      const [name, settings] = systems[i]!;
      await this.withSystem(name, settings, async (target) => {
        started.push(target);
        await startFrom(i + 1);
      });
    };
    await startFrom(0);
  }

  /** One recorded run; a run whose errors + non-2xx exceed --max-error-rate fails the benchmark. */
  async measure(target: Target, load: LoadSpec, extras: MeasureExtras = {}): Promise<RunRecord> {
    const { system } = target;
    const before = sampleCpu(system.roots);
    const summary = await this.#load(target, load, `${target.label} ${loadLabel(load)}`, this.options.timeoutMs, extras);
    const cpu = cpuBetween(before, sampleCpu(system.roots), summary.responses);
    const record: RunRecord = { system: target.label, model: target.model, replicas: system.replicas, ...(system.processes !== undefined && { processes: system.processes }), load, body: target.bodies.description, summary, ...(cpu && { cpu }), ...(extras.round !== undefined && { round: extras.round }) };
    if (summary.responses + summary.errors === 0) record.failure = 'no request completed';
    else if (extras.judged !== false && summary.errorRate > this.options.maxErrorRate) {
      record.failure = `errors + non-2xx are ${(summary.errorRate * 100).toFixed(2)}% of requests, above the ${this.options.maxErrorRate * 100}% allowance (status ${JSON.stringify(summary.statusCodes)}, errors ${JSON.stringify(summary.errorKinds)})`;
    }
    this.runs.push(record);
    // A busy neighbour takes cores from both sides; say so next to the numbers.
    if (cpu?.otherPercentOfCore !== undefined && cpu.otherPercentOfCore > DISTURBED_PERCENT) {
      this.note(`${target.label} ${loadLabel(load)}: other processes used ${Math.round(cpu.otherPercentOfCore)}% of a core meanwhile; its numbers are disturbed`);
    }
    const l = summary.latency;
    this.#deps.progress.note(`  ${target.label} ${loadLabel(load)}: ${formatRate(summary.responsesPerS)} req/s, p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms, errors ${summary.errors}, non-2xx ${summary.non2xx}`);
    if (record.failure && !this.aborted) this.fail(`${target.label} ${loadLabel(load)}: ${record.failure}`);
    return record;
  }

  /** Bounded search for the highest open-loop rate with p99 ≤ SLO and errors ≤ the allowance. */
  async searchCapacity(target: Target): Promise<CapacityRecord> {
    const o = this.options;
    const settings: SearchSettings = { startRatePerS: o.startRatePerS, minRatePerS: Math.min(o.startRatePerS, 1), maxRatePerS: o.maxRatePerS, growth: 2, precision: o.precision, maxProbes: o.maxProbes, confirmFailures: o.confirmFailures };
    // Stragglers beyond this already broke the SLO; waiting longer only slows the search.
    const probeTimeoutMs = Math.min(o.timeoutMs, Math.max(2_000, 10 * o.sloP99Ms));
    const probes: CapacityProbe[] = [];
    const record: CapacityRecord = { system: target.label, replicas: target.system.replicas, sloP99Ms: o.sloP99Ms, maxErrorRate: o.maxErrorRate, capacityPerS: 0, bracket: [0, null], reason: '', probes };
    for (;;) {
      const step = nextStep(probes, settings);
      if (step.kind === 'done' || this.aborted) {
        if (step.kind === 'done') Object.assign(record, { capacityPerS: step.capacityPerS, bracket: step.bracket, reason: step.reason });
        else record.reason = 'interrupted';
        break;
      }
      const load: LoadSpec = { mode: 'open', ratePerS: step.ratePerS, arrivals: o.arrivals, connections: o.openConnections, durationS: o.probeDurationS };
      const s = await this.#load(target, load, `${target.label} probe ${formatRate(step.ratePerS)}/s`, probeTimeoutMs);
      const passed = probePassed(s, o.sloP99Ms, o.maxErrorRate);
      probes.push({ ratePerS: step.ratePerS, passed, achievedPerS: s.responsesPerS, p50Ms: s.latency.p50Ms, p99Ms: s.latency.p99Ms, errorRate: s.errorRate });
      this.#deps.progress.note(`  probe ${formatRate(step.ratePerS)}/s: ${formatRate(s.responsesPerS)} answered/s, p99 ${s.latency.p99Ms.toFixed(2)} ms, errors+non-2xx ${(s.errorRate * 100).toFixed(2)}% → ${passed ? 'pass' : 'fail'}`);
      // Let an overloaded system drain its queues before the next probe.
      await sleep(Math.min(500, o.probeDurationS * 250));
      if (!passed) await settle(target, { timeoutMs: o.timeoutMs, sloP99Ms: o.sloP99Ms, aborted: () => this.aborted });
    }
    if (record.capacityPerS === 0 && !this.aborted) record.failure = `no probe passed (${record.reason})`;
    this.capacities.push(record);
    if (record.failure) this.fail(`${record.system} capacity search: ${record.failure}`);
    return record;
  }

  /** Bodies for `system`; `headers` join the body's own on every request (HTTP loads; the gRPC loops send no metadata). */
  #bodySource(system: StartedSystem, model: string, format: BodyFormat, hitRatio?: number, headers?: Record<string, string>): BodySource {
    const o = this.options;
    const inputs = system.signature?.inputs ?? this.#lastInputs ?? CLASSIFIER_LIKE_INPUTS;
    const bodies = createBodySource({ format, model, version: system.signature?.version ?? '1', inputs, rows: o.rows, mode: o.inputs, seed: o.seed, ...(hitRatio !== undefined ? { hitRatio } : {}) });
    return headers === undefined ? bodies : { ...bodies, headers: { ...bodies.headers, ...headers } };
  }

  /** Closed-loop load for `warmupS`, recorded nowhere: the first seconds of a process (JIT, connections, pools) are not what a run measures. */
  async #warmUp(target: Target, warmupS: number): Promise<void> {
    if (warmupS <= 0) return;
    const connections = Math.min(64, Math.max(...this.options.connections));
    await this.#load(target, { mode: 'closed', connections, pipelining: 1, durationS: warmupS }, `${target.label} warm-up`, this.options.timeoutMs);
  }

  #load(target: Target, load: LoadSpec, label: string, timeoutMs: number, extras: MeasureExtras = {}): Promise<RunSummary> {
    const { progress, signal } = this.#deps;
    return loadTarget(target, load, { label, timeoutMs, progress, signal, seed: this.options.seed, grpcCallsPerChannel: this.options.grpcCallsPerChannel }, extras);
  }

  /** Why `name` cannot run on this machine, or null. */
  #unavailable(name: SystemName): string | null {
    return SYSTEMS[name].unavailable(this.#deps.env ?? process.env);
  }
}
