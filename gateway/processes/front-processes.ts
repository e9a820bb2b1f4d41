// The leader's side of server.processes > 1: it forks the front processes,
// replaces one that dies (with the workers' capped backoff), keeps each told
// of the fleet (a mirror sent whenever it changes), and asks them for their
// metrics and cache purges. On close it stops the fronts first and waits for
// them, because their requests in flight run on the leader's workers.
//
//   leader ──fork──▶ front i ──"serving"──▶ leader
//          ──mirror (on change)──▶ every front
//   front exits unasked ──backoff──▶ fork again
//   close: SIGTERM each ─▶ exits (drained) or SIGKILL after the grace

import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../common/logger.ts';
import { crashesAfterExit, restartDelayMs, type BackoffPolicy } from '../supervisor/restart-backoff.ts';
import type { ModelStatsBody } from '../observability/inference-stats.ts';
import type { FleetMirror } from './fleet-mirror.ts';
import type { FrontMessage, LeaderMessage, ProcessMetrics } from './process-messages.ts';

export type FrontProcessesDeps = {
  /** Fronts to run beside the leader. */
  count: number;
  /** Starts front `index` (1-based) with an IPC channel. */
  fork: (index: number) => ChildProcess;
  /** The fleet now. */
  mirror: () => FleetMirror;
  /** How often the mirror is compared with the one last sent. */
  mirrorIntervalMs: number;
  backoff: BackoffPolicy;
  /** How long a front may take to answer a metrics or purge request. */
  askTimeoutMs: number;
  logger: Logger;
};

type Front = { index: number; child: ChildProcess | null; crashes: number; servingSinceMs: number | null; restartTimer: NodeJS.Timeout | null; ready: boolean };

export class FrontProcesses {
  readonly #deps: FrontProcessesDeps;
  readonly #fronts: Front[];
  readonly #waiting = new Map<number, { resolve: (message: FrontMessage | null) => void; timer: NodeJS.Timeout }>();
  #nextRequestId = 1;
  #readyWaiters: Array<() => void> = [];
  #lastMirror = '';
  #timer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;

  constructor(deps: FrontProcessesDeps) {
    this.#deps = deps;
    this.#fronts = Array.from({ length: deps.count }, (_, i) => ({ index: i + 1, child: null, crashes: 0, servingSinceMs: null, restartTimer: null, ready: false }));
  }

  /** The pids of the fronts running now, by index. */
  get pids(): Array<{ index: number; pid: number | undefined }> {
    return this.#fronts.map((f) => ({ index: f.index, pid: f.child?.pid }));
  }

  start(): void {
    for (const front of this.#fronts) this.#fork(front);
    this.#timer = setInterval(() => this.sendMirror(), this.#deps.mirrorIntervalMs);
    this.#timer.unref();
  }

  /** Resolves once every front has said once that its models settled (closing resolves it too). */
  whenReady(): Promise<void> {
    if (this.#closing || this.#fronts.every((f) => f.ready)) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Sends the mirror to every front when it changed since it was last sent (or to all, forced). */
  sendMirror(force = false): void {
    let mirror: FleetMirror;
    try {
      mirror = this.#deps.mirror();
    } catch (err) {
      // A mirror read mid-change is taken again at the next tick; a timer must never end the leader.
      this.#deps.logger.warn({ err }, 'the fleet mirror could not be read; the fronts get it at the next tick');
      return;
    }
    const text = JSON.stringify(mirror);
    if (!force && text === this.#lastMirror) return;
    this.#lastMirror = text;
    for (const front of this.#fronts) this.#send(front, { kind: 'mirror', mirror });
  }

  /** Each front's metrics registry; a front that does not answer in time is left out. */
  async metrics(): Promise<ProcessMetrics[]> {
    const answers = await Promise.all(this.#fronts.map((front) => this.#ask(front, (id) => ({ kind: 'metrics', id }))));
    return answers.flatMap((answer) => (answer?.kind === 'metrics' ? [{ process: answer.process, metrics: answer.metrics }] : []));
  }

  /** Each front's inference statistics; a front that does not answer in time (or cannot) is left out. */
  async stats(model: string | undefined, version: string | undefined): Promise<ModelStatsBody[]> {
    const asked = (id: number): LeaderMessage => ({ kind: 'stats', id, ...(model === undefined ? {} : { model }), ...(version === undefined ? {} : { version }) });
    const answers = await Promise.all(this.#fronts.map((front) => this.#ask(front, asked)));
    return answers.flatMap((answer) => (answer?.kind === 'stats' && answer.body ? [answer.body] : []));
  }

  /** Purges each front's in-process cache tier; resolves when all answered (or timed out). */
  async purge(model: string, version: string | undefined): Promise<void> {
    await Promise.all(this.#fronts.map((front) => this.#ask(front, (id) => ({ kind: 'purge', id, model, ...(version === undefined ? {} : { version }) }))));
  }

  /** Sends `signal` to every front running (SIGHUP: each reloads its TLS certificate). */
  signal(signal: NodeJS.Signals): void {
    for (const front of this.#fronts) if (front.child && front.child.exitCode === null && front.child.signalCode === null) front.child.kill(signal);
  }

  /** SIGTERM to every front; resolves once all have exited (SIGKILL for those still running after `graceMs`). */
  close(graceMs: number): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      await Promise.all(
        this.#fronts.map(async (front) => {
          if (front.restartTimer) clearTimeout(front.restartTimer);
          const child = front.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(killer);
        }),
      );
      for (const wake of this.#readyWaiters.splice(0)) wake();
      for (const { resolve, timer } of this.#waiting.values()) {
        clearTimeout(timer);
        resolve(null);
      }
    })();
    return this.#closing;
  }

  #fork(front: Front): void {
    front.restartTimer = null;
    if (this.#closing) return;
    const child = this.#deps.fork(front.index);
    front.child = child;
    front.servingSinceMs = null;
    this.#deps.logger.info({ front: front.index, pid: child.pid }, 'gateway front process started');
    child.on('message', (message: FrontMessage) => this.#onMessage(front, message));
    // A failed send (the front exiting) is followed by its exit event.
    child.on('error', (err) => this.#deps.logger.warn({ front: front.index, err }, 'gateway front process channel error'));
    child.once('exit', (code, signal) => {
      if (front.child === child) front.child = null;
      if (this.#closing) return;
      const servedForMs = front.servingSinceMs === null ? null : performance.now() - front.servingSinceMs;
      front.crashes = crashesAfterExit(front.crashes, servedForMs, this.#deps.backoff);
      const delayMs = restartDelayMs(front.crashes, this.#deps.backoff);
      this.#deps.logger.warn({ front: front.index, pid: child.pid, code, signal, restartInMs: delayMs }, 'gateway front process exited: starting another');
      front.restartTimer = setTimeout(() => this.#fork(front), delayMs);
    });
  }

  #onMessage(front: Front, message: FrontMessage): void {
    if (message.kind === 'serving') {
      front.servingSinceMs = performance.now();
      this.#deps.logger.info({ front: front.index, pid: front.child?.pid }, 'gateway front process serving');
      this.sendMirror(true);
      return;
    }
    if (message.kind === 'ready') {
      front.ready = true;
      if (this.#fronts.every((f) => f.ready)) for (const wake of this.#readyWaiters.splice(0)) wake();
      return;
    }
    const waiting = this.#waiting.get(message.id);
    if (!waiting) return;
    this.#waiting.delete(message.id);
    clearTimeout(waiting.timer);
    waiting.resolve(message);
  }

  #ask(front: Front, message: (id: number) => LeaderMessage): Promise<FrontMessage | null> {
    if (!front.child?.connected) return Promise.resolve(null);
    const id = this.#nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(null);
      }, this.#deps.askTimeoutMs);
      this.#waiting.set(id, { resolve, timer });
      this.#send(front, message(id));
    });
  }

  #send(front: Front, message: LeaderMessage): void {
    if (front.child?.connected) front.child.send(message);
  }
}
