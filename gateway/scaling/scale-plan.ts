// The next step of scaling one model's local replicas toward a desired count.
// Pure: the mechanism (scale-control.ts) re-runs it on the fleet as it is
// after each step, so a new desired count takes over from wherever the last
// step left the fleet.
//
// Up: the model is loaded into running workers that do not host it yet
// (ready ones, lowest index first: no process to start), then new worker
// processes up to the machine-wide cap. Down: replicas that are not ready go
// first, then workers that host only this model (their process can be
// released), newest first. Each step moves at most `maxStepReplicas`.

/** A local worker as scaling sees it. */
export type WorkerView = { id: string; models: readonly string[]; ready: boolean };

export type ScaleStep = {
  /** Running workers that load the model. */
  load: string[];
  /** New worker processes to start, hosting the model only. */
  spawn: string[];
  /** Workers that let go of the model (a worker left with no model is stopped). */
  release: string[];
  /** Why the step falls short of the desired count, when it does (the worker cap). */
  shortBy?: string;
};

export const NO_STEP: ScaleStep = { load: [], spawn: [], release: [] };

export function nextScaleStep(model: string, desired: number, workers: readonly WorkerView[], maxStepReplicas: number, maxWorkers: number): ScaleStep {
  const hosts = workers.filter((w) => w.models.includes(model));
  if (hosts.length === desired) return NO_STEP;
  if (hosts.length > desired) {
    const count = Math.min(maxStepReplicas, hosts.length - desired);
    const order = (w: WorkerView): number => (w.ready ? 2 : 0) + (w.models.length === 1 ? 0 : 1);
    const newestFirst = [...hosts].reverse();
    const release = newestFirst.sort((a, b) => order(a) - order(b)).slice(0, count).map((w) => w.id);
    return { load: [], spawn: [], release };
  }
  const wanted = Math.min(maxStepReplicas, desired - hosts.length);
  const load = workers
    .filter((w) => w.ready && !w.models.includes(model))
    .slice(0, wanted)
    .map((w) => w.id);
  const room = Math.max(0, maxWorkers - workers.length);
  const spawn = newWorkerIds(workers, Math.min(room, wanted - load.length));
  const missing = desired - hosts.length - load.length - spawn.length;
  const reachable = load.length + spawn.length === wanted;
  return reachable ? { load, spawn, release: [] } : { load, spawn, release: [], shortBy: `${missing} replica${missing === 1 ? '' : 's'} short: scaling.maxWorkers (${maxWorkers}) worker processes are running` };
}

/** `count` ids `worker-<i>` not in use, lowest first. */
export function newWorkerIds(workers: readonly WorkerView[], count: number): string[] {
  const taken = new Set(workers.map((w) => w.id));
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (!taken.has(`worker-${i}`)) ids.push(`worker-${i}`);
  return ids;
}
