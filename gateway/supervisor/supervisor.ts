// Runs the local worker processes: spawns one per placement, marks its
// replica ready once the worker answers its readiness check (models loaded
// and warmed up), restarts a crashed worker with capped exponential backoff,
// and on close drains every worker (SIGTERM, then SIGKILL after the drain
// timeout). It owns the processes and timers; the backoff is a pure policy.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionOptionsConfig } from '../../config/schema.ts';
import { muxSocketPathFor } from '../../common/mux.ts';
import { EXIT_WITH_PARENT_ENV, type WorkerModelsBody } from '../../common/wire.ts';
import type { ReplicaHealth } from '../health/replica-health.ts';
import { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { WorkerPlacement } from './placement.ts';
import { crashesAfterExit, restartDelayMs, type BackoffPolicy } from './restart-backoff.ts';

export const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));

const READY_POLL_INTERVAL_MS = 50;
const CONTROL_TIMEOUT_MS = 5_000;

/**
 * Whether infer requests to local workers use the multiplexed channel
 * (common/mux.ts; unbatched, 64 connections: ~46 vs ~127 µs of gateway CPU per
 * request, measured on this 2-core box) rather
 * than one HTTP request each. Both paths stay built and tested;
 * INFERGATE_WORKER_MUX=off switches to HTTP (for A/B measurements).
 */
export const USE_WORKER_MUX = process.env['INFERGATE_WORKER_MUX'] !== 'off';

export type SpawnWorker = (args: string[]) => ChildProcess;

export type SupervisorOptions = {
  replicas: ReplicaSet;
  placements: readonly WorkerPlacement[];
  repository: string;
  socketDir: string;
  sessionOptions: SessionOptionsConfig;
  startupTimeoutMs: number;
  drainTimeoutMs: number;
  maxConnectionsPerWorker: number;
  backoff: BackoffPolicy;
  /** Chaos testing: worker id → the fault it is started with (worker --inject-fault). */
  injectFaults?: Readonly<Record<string, string>>;
  /** The health record (breaker, checks, ejection) of a new replica. */
  healthFor: (replicaId: string) => ReplicaHealth;
  /** Takes a worker's GET /models report before its replica turns ready; default: replica.setReport(report). */
  acceptReport?: (replica: Replica, report: WorkerModelsBody) => void;
  now: () => number;
  log: (message: string) => void;
  /** Send infer requests over each worker's mux channel; default USE_WORKER_MUX. */
  workerMux?: boolean;
  /** Starts a worker process; the default runs worker/main.ts on this Node binary. */
  spawnWorker?: SpawnWorker;
};

type Managed = {
  replica: Replica;
  child: ChildProcess | null;
  exited: Promise<void>;
  consecutiveCrashes: number;
  readySinceMs: number | null;
  restartTimer: NodeJS.Timeout | null;
};

/** Emits 'exit' (replica, code, signal) and 'restart' (replica, delayMs). */
export class Supervisor extends EventEmitter {
  readonly #options: SupervisorOptions;
  readonly #managed: Managed[] = [];
  readonly #spawnWorker: SpawnWorker;
  #closing: Promise<void> | null = null;

  constructor(options: SupervisorOptions) {
    super();
    this.#options = options;
    this.#spawnWorker =
      options.spawnWorker ??
      ((args) =>
        // stdin is a pipe the worker watches: if this process dies, the worker sees EOF and exits.
        spawn(process.execPath, [WORKER_MAIN, ...args], {
          stdio: ['pipe', 'inherit', 'inherit'],
          env: { ...process.env, [EXIT_WITH_PARENT_ENV]: '1' },
        }));
  }

  /** Spawns every worker; replicas turn ready one by one as their workers report ready. */
  start(): void {
    for (const placement of this.#options.placements) {
      const replica = new Replica({
        id: placement.id,
        address: this.#address(placement.id),
        models: placement.models,
        maxConnections: this.#options.maxConnectionsPerWorker,
        health: this.#options.healthFor(placement.id),
      });
      this.#options.replicas.add(replica);
      const managed: Managed = {
        replica,
        child: null,
        exited: Promise.resolve(),
        consecutiveCrashes: 0,
        readySinceMs: null,
        restartTimer: null,
      };
      this.#managed.push(managed);
      this.#spawn(managed);
    }
  }

  #address(id: string): { socketPath: string; muxSocketPath?: string } {
    const socketPath = join(this.#options.socketDir, `${id}.sock`);
    // The worker listens on <socket>.mux whenever it listens on a unix socket (worker/main.ts).
    return (this.#options.workerMux ?? USE_WORKER_MUX) ? { socketPath, muxSocketPath: muxSocketPathFor(socketPath) } : { socketPath };
  }

  /**
   * Kills a worker presumed hung (alive, not answering) so that it is
   * restarted like a crashed one. SIGKILL, not SIGTERM: a hung process would
   * not drain.
   */
  restart(replica: Replica, reason: string): void {
    const managed = this.#managed.find((m) => m.replica === replica);
    const child = managed?.child;
    if (!child || this.#closing || child.exitCode !== null || child.signalCode !== null) return;
    this.#options.log(`${replica.id}: ${reason}; killing pid ${child.pid} to restart it`);
    child.kill('SIGKILL');
  }

  /** Drains and stops every worker. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all(this.#managed.map((m) => this.#stop(m))).then(() => undefined);
    return this.#closing;
  }

  #spawn(managed: Managed): void {
    const { replica } = managed;
    const o = this.#options;
    const socketPath = 'socketPath' in replica.address ? replica.address.socketPath : '';
    const args = [
      '--listen', `unix:${socketPath}`,
      '--models', o.repository,
      ...replica.models.flatMap((m) => ['--model', m]),
      '--intra-op-threads', String(o.sessionOptions.intraOpThreads),
      '--inter-op-threads', String(o.sessionOptions.interOpThreads),
      '--graph-optimization-level', o.sessionOptions.graphOptimizationLevel,
      '--execution-mode', o.sessionOptions.executionMode,
      '--drain-timeout-ms', String(o.drainTimeoutMs),
      // The gateway logs each model problem once for all replicas (ModelRegistry).
      '--model-log', 'none',
      ...(o.injectFaults?.[replica.id] ? ['--inject-fault', o.injectFaults[replica.id]!] : []),
    ];
    const child = this.#spawnWorker(args);
    managed.child = child;
    managed.readySinceMs = null;
    replica.pid = child.pid ?? null;
    managed.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#onExit(managed, child, code, signal);
        resolve();
      });
      // A spawn failure (e.g. ENOENT) is followed by 'exit'/'close'; log it here.
      child.once('error', (err) => o.log(`${replica.id}: process error: ${err.message}`));
    });
    void this.#awaitReady(managed, child);
  }

  async #awaitReady(managed: Managed, child: ChildProcess): Promise<void> {
    const { replica } = managed;
    const deadline = this.#options.now() + this.#options.startupTimeoutMs;
    while (managed.child === child && child.exitCode === null && child.signalCode === null) {
      if (this.#options.now() > deadline) {
        this.#options.log(`${replica.id}: not ready after ${this.#options.startupTimeoutMs} ms; killing it`);
        child.kill('SIGKILL');
        return;
      }
      if (await replica.client.isReady(CONTROL_TIMEOUT_MS)) {
        let report: WorkerModelsBody;
        try {
          report = await replica.client.models(CONTROL_TIMEOUT_MS);
        } catch (err) {
          this.#options.log(`${replica.id}: ready but /models failed: ${(err as Error).message}`);
          await delay(READY_POLL_INTERVAL_MS);
          continue;
        }
        if (managed.child !== child || this.#closing) return;
        if (this.#options.acceptReport) this.#options.acceptReport(replica, report);
        else replica.setReport(report);
        managed.readySinceMs = this.#options.now();
        replica.transition('ready');
        return;
      }
      await delay(READY_POLL_INTERVAL_MS);
    }
  }

  #onExit(managed: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (managed.child !== child) return;
    const { replica } = managed;
    managed.child = null;
    replica.pid = null;
    replica.transition('exit');
    this.emit('exit', replica, code, signal);
    if (this.#closing) return;

    const readyForMs = managed.readySinceMs === null ? null : this.#options.now() - managed.readySinceMs;
    managed.consecutiveCrashes = crashesAfterExit(managed.consecutiveCrashes, readyForMs, this.#options.backoff);
    const delayMs = restartDelayMs(managed.consecutiveCrashes, this.#options.backoff);
    this.#options.log(`${replica.id}: exited (code ${code}, signal ${signal}); restarting in ${delayMs} ms`);
    this.emit('restart', replica, delayMs);
    managed.restartTimer = setTimeout(() => {
      managed.restartTimer = null;
      if (this.#closing) return;
      replica.transition('restart');
      this.#spawn(managed);
    }, delayMs);
  }

  async #stop(managed: Managed): Promise<void> {
    if (managed.restartTimer) clearTimeout(managed.restartTimer);
    managed.restartTimer = null;
    const { replica, child } = managed;
    replica.transition('drain');
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), this.#options.drainTimeoutMs);
      await managed.exited;
      clearTimeout(killer);
    }
    replica.transition('exit');
    await replica.client.destroy();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
