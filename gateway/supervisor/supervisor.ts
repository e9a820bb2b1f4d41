// The source of local replicas: runs one worker process per placement, adds
// its replica to the set and brings it to ready through the shared readiness
// probe (models loaded and warmed up), restarts a crashed worker with capped
// exponential backoff, applies a new placement to the running fleet (start,
// stop, replace only what changed), and on close drains every worker
// (SIGTERM, then SIGKILL after the drain timeout). It owns the processes and
// timers; backoff and placement are pure policies.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionOptionsConfig } from '../../config/schema.ts';
import { muxSocketPathFor } from '../../common/mux.ts';
import { workerArgv, type InjectedFault } from '../../common/worker-options.ts';
import type { LogFormat, Logger, LogLevel } from '../../common/logger.ts';
import { EXIT_WITH_PARENT_ENV, type WorkerModelsBody } from '../../common/wire.ts';
import type { ReplicaHealth } from '../health/replica-health.ts';
import { probeUntilReady } from '../replicas/readiness-probe.ts';
import type { ReplicaClientFactory } from '../replicas/replica-client.ts';
import type { ReplicaSource } from '../replicas/replica-source.ts';
import { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import { formatModelSelection, parseModelSelection } from '../../common/model-selection.ts';
import { placementChanges, type WorkerPlacement } from './placement.ts';
import { crashesAfterExit, restartDelayMs, type BackoffPolicy } from './restart-backoff.ts';

export const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));

const READY_POLL_INTERVAL_MS = 50;
const CONTROL_TIMEOUT_MS = 5_000;

/** How the gateway sends infer requests to local workers: the multiplexed channel (common/mux.ts) or one HTTP request each. */
export type WorkerTransport = 'mux' | 'http';

export type SpawnWorker = (args: string[]) => ChildProcess;

export type SupervisorOptions = {
  replicas: ReplicaSet;
  placements: readonly WorkerPlacement[];
  /** Builds each worker process's client (upstream/worker-client.ts). */
  connect: ReplicaClientFactory;
  transport: WorkerTransport;
  repository: string;
  socketDir: string;
  sessionOptions: SessionOptionsConfig;
  startupTimeoutMs: number;
  drainTimeoutMs: number;
  backoff: BackoffPolicy;
  /** Chaos testing: worker id → the fault it is started with (worker --inject-fault). */
  injectFaults?: Readonly<Record<string, InjectedFault>>;
  /** The health record (breaker, checks, ejection) of a new replica. */
  healthFor: (replicaId: string) => ReplicaHealth;
  /** Takes a worker's GET /models report before its replica turns ready; default: replica.setReport(report). */
  acceptReport?: (replica: Replica, report: WorkerModelsBody) => void;
  now: () => number;
  logger: Logger;
  /** Starts a worker process; the default runs worker/main.ts on this Node binary. */
  spawnWorker?: SpawnWorker;
  /** The level and format of the workers' log lines (worker --log-level, --log-format); default info, auto. */
  workerLogging?: { level: LogLevel; format: LogFormat };
};

type Managed = {
  /** Its id and the models it serves (Replica.serving, which a live load or unload changes) are its placement. */
  replica: Replica;
  child: ChildProcess | null;
  exited: Promise<void>;
  consecutiveCrashes: number;
  readySinceMs: number | null;
  restartTimer: NodeJS.Timeout | null;
  /** Being stopped for good (close, or a placement without it): its exit is not a crash to restart. */
  retiring: boolean;
};

export type SupervisorEvents = {
  exit: [replica: Replica, code: number | null, signal: NodeJS.Signals | null];
  restart: [replica: Replica, delayMs: number];
};

export class Supervisor extends EventEmitter<SupervisorEvents> implements ReplicaSource {
  readonly #options: SupervisorOptions;
  readonly #managed: Managed[] = [];
  #started = false;
  #applying: Promise<void> = Promise.resolve();
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
    this.#started = true;
    for (const placement of this.#options.placements) this.#launch(placement);
  }

  /** The placement running now. */
  get placements(): WorkerPlacement[] {
    // From each replica's models, which a model loaded or unloaded at run time changes (Replica.place).
    return this.#managed.map((m) => ({ id: m.replica.id, models: m.replica.serving.map(formatModelSelection) }));
  }

  /** The local replicas, in placement order (worker-0 first). */
  get replicas(): Replica[] {
    return this.#managed.map((m) => m.replica);
  }

  /**
   * Moves the running fleet to a new placement: new workers start, workers no longer placed drain and leave the
   * set, and a worker whose models changed is drained and started again with the new ones. Resolves once every
   * stopped worker has exited (the new ones may still be starting).
   */
  apply(placements: readonly WorkerPlacement[]): Promise<void> {
    // One change at a time: each starts from the placement the one before left.
    this.#applying = this.#applying.then(() => this.#apply(placements));
    return this.#applying;
  }

  async #apply(placements: readonly WorkerPlacement[]): Promise<void> {
    if (this.#closing) return;
    const changes = placementChanges(this.placements, placements);
    const leaving = this.#managed.filter((m) => changes.stop.includes(m.replica.id) || changes.replace.some((p) => p.id === m.replica.id));
    for (const placement of changes.start) this.#launch(placement);
    await Promise.all(
      leaving.map(async (managed) => {
        this.#options.replicas.remove(managed.replica);
        await this.#stop(managed);
        this.#managed.splice(this.#managed.indexOf(managed), 1);
      }),
    );
    for (const placement of changes.replace) if (!this.#closing) this.#launch(placement);
  }

  #launch(placement: WorkerPlacement): void {
    const replica = new Replica({
      id: placement.id,
      address: this.#address(placement.id),
      serving: placement.models.map(parseModelSelection),
      connect: this.#options.connect,
      health: this.#options.healthFor(placement.id),
    });
    const managed: Managed = { replica, child: null, exited: Promise.resolve(), consecutiveCrashes: 0, readySinceMs: null, restartTimer: null, retiring: false };
    this.#managed.push(managed);
    this.#options.replicas.add(replica);
    if (this.#started) this.#spawn(managed);
  }

  #address(id: string): { socketPath: string; muxSocketPath?: string } {
    const socketPath = join(this.#options.socketDir, `${id}.sock`);
    // The worker listens on <socket>.mux whenever it listens on a unix socket (worker/main.ts).
    return this.#options.transport === 'mux' ? { socketPath, muxSocketPath: muxSocketPathFor(socketPath) } : { socketPath };
  }

  /**
   * Kills a worker presumed hung (alive, not answering) so that it is
   * restarted like a crashed one. SIGKILL, not SIGTERM: a hung process would
   * not drain.
   */
  restart(replica: Replica, reason: string): boolean {
    const managed = this.#managed.find((m) => m.replica === replica);
    if (!managed) return false;
    const child = managed.child;
    if (!child || this.#closing || child.exitCode !== null || child.signalCode !== null) return true;
    this.#options.logger.warn({ replica: replica.id, pid: child.pid, reason }, 'killing a worker presumed hung, to restart it');
    child.kill('SIGKILL');
    return true;
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
    const fault = o.injectFaults?.[replica.id];
    const args = workerArgv({
      listen: { kind: 'unix', path: socketPath },
      modelsDir: o.repository,
      models: replica.serving,
      session: o.sessionOptions,
      drainTimeoutMs: o.drainTimeoutMs,
      // The gateway logs each model problem once for all replicas (ModelRegistry).
      modelLog: 'none',
      // The replica id is the worker's `worker` log field and the `replica` label of its metrics.
      id: replica.id,
      logLevel: o.workerLogging?.level ?? 'info',
      logFormat: o.workerLogging?.format ?? 'auto',
      ...(fault ? { injectFault: fault } : {}),
    });
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
      child.once('error', (err) => o.logger.error({ replica: replica.id, err }, 'worker process error'));
    });
    void this.#awaitReady(managed, child);
  }

  async #awaitReady(managed: Managed, child: ChildProcess): Promise<void> {
    const { replica } = managed;
    const o = this.#options;
    const outcome = await probeUntilReady(replica, {
      intervalMs: READY_POLL_INTERVAL_MS,
      callTimeoutMs: CONTROL_TIMEOUT_MS,
      deadlineMs: o.now() + o.startupTimeoutMs,
      now: o.now,
      stillWanted: () => managed.child === child && child.exitCode === null && child.signalCode === null && !this.#closing && !managed.retiring,
      ...(o.acceptReport ? { acceptReport: o.acceptReport } : {}),
      logger: o.logger,
    });
    if (outcome === 'ready') managed.readySinceMs = o.now();
    if (outcome === 'timed-out') {
      o.logger.error({ replica: replica.id, pid: child.pid, startupTimeoutMs: o.startupTimeoutMs }, 'worker not ready in time; killing it');
      child.kill('SIGKILL');
    }
  }

  #onExit(managed: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (managed.child !== child) return;
    const { replica } = managed;
    managed.child = null;
    replica.pid = null;
    replica.transition('exit');
    this.emit('exit', replica, code, signal);
    if (this.#closing || managed.retiring) return;

    const readyForMs = managed.readySinceMs === null ? null : this.#options.now() - managed.readySinceMs;
    managed.consecutiveCrashes = crashesAfterExit(managed.consecutiveCrashes, readyForMs, this.#options.backoff);
    const delayMs = restartDelayMs(managed.consecutiveCrashes, this.#options.backoff);
    this.#options.logger.warn({ replica: replica.id, code, signal, restartInMs: delayMs }, 'worker exited; restarting it');
    this.emit('restart', replica, delayMs);
    managed.restartTimer = setTimeout(() => {
      managed.restartTimer = null;
      if (this.#closing || managed.retiring) return;
      replica.transition('restart');
      this.#spawn(managed);
    }, delayMs);
  }

  async #stop(managed: Managed): Promise<void> {
    managed.retiring = true;
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
