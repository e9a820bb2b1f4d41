// Carries out a chaos plan against a running gateway: at each planned time it
// looks up the worker's pid at the gateway's GET /admin/replicas and signals
// it (SIGKILL, SIGSTOP, SIGCONT), or SIGTERMs the gateway itself, and records
// what it did and when (seconds since the load started). Rate changes are the
// open loop's job (the plan's schedule); the driver only marks them.

import { actionLabel, type PlannedEvent } from './chaos-plan.ts';
import type { TimelineEvent } from './results.ts';

type ReplicaView = { id: string; state: string; pid?: number | null };

export type ChaosDriverOptions = {
  events: readonly PlannedEvent[];
  /** performance.now() of the load's start. */
  startMs: number;
  /** The gateway's origin (its admin endpoint) and pid. */
  origin: string;
  gatewayPid: number;
  signal: AbortSignal;
  record: (event: TimelineEvent) => void;
};

export async function runChaos(o: ChaosDriverOptions): Promise<void> {
  const stopped = new Map<string, number>();
  try {
    for (const { atS, action } of [...o.events].sort((a, b) => a.atS - b.atS)) {
      await sleepUntil(o.startMs + atS * 1000, o.signal);
      if (o.signal.aborted) return;
      let skipped: string | undefined;
      if (action.kind === 'kill' || action.kind === 'stop') {
        const pid = await workerPid(o.origin, action.workerId).catch(() => undefined);
        if (pid === undefined) skipped = 'no pid at /admin/replicas';
        else if (!signalPid(pid, action.kind === 'kill' ? 'SIGKILL' : 'SIGSTOP')) skipped = 'process gone';
        else if (action.kind === 'stop') stopped.set(action.workerId, pid);
      } else if (action.kind === 'cont') {
        const pid = stopped.get(action.workerId);
        stopped.delete(action.workerId);
        if (pid === undefined || !signalPid(pid, 'SIGCONT')) skipped = 'not stopped';
      } else if (action.kind === 'sigterm') {
        if (!signalPid(o.gatewayPid, 'SIGTERM')) skipped = 'gateway gone';
      }
      o.record({ atS: (performance.now() - o.startMs) / 1000, kind: action.kind, label: actionLabel(action), ...(skipped && { skipped }) });
    }
  } finally {
    // Never leave a worker stopped: the gateway could not stop it, nor the harness its gateway.
    for (const pid of stopped.values()) signalPid(pid, 'SIGCONT');
  }
}

/** Waits until the gateway reports `count` ready replicas (kills need a pid to aim at). */
export async function waitForReadyReplicas(origin: string, count: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ready = (await replicas(origin).catch(() => [])).filter((r) => r.state === 'ready').length;
    if (ready >= count || signal.aborted) return;
    if (performance.now() > deadline) throw new Error(`only ${ready} of ${count} replicas ready after ${timeoutMs} ms`);
    await sleepUntil(performance.now() + 100, signal);
  }
}

async function replicas(origin: string): Promise<ReplicaView[]> {
  const res = await fetch(`${origin}/admin/replicas`);
  if (!res.ok) throw new Error(`GET /admin/replicas answered ${res.status}`);
  return ((await res.json()) as { replicas: ReplicaView[] }).replicas;
}

async function workerPid(origin: string, id: string): Promise<number | undefined> {
  const pid = (await replicas(origin)).find((r) => r.id === id)?.pid;
  return typeof pid === 'number' && pid > 0 ? pid : undefined;
}

function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  // 0 and negative pids name process groups (-1: every process we may signal): never.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves at `atMs` (performance.now() time), or at once when `signal` aborts. */
export function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, atMs - performance.now()));
    signal.addEventListener('abort', done, { once: true });
  });
}
