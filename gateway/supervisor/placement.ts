// Which local worker process hosts which models. A model asking for R
// replicas is loaded by workers 0..R-1, so the number of processes is the
// largest R and every model gets exactly the replicas it asked for:
//
//   classifier ×3, heavy ×1, ranker ×2  →  worker-0 [classifier heavy ranker]
//                                          worker-1 [classifier ranker]
//                                          worker-2 [classifier]
//
// Pure, and re-runnable on a running fleet: `placementChanges` says which
// workers to start, stop or replace (restart with other models) to go from
// one placement to the next, so a change of replica counts touches only the
// workers it must.

/** A model's name, or `name:1,2` for some of its versions (replicas/served-model.ts). */
export type ModelReplicas = { name: string; replicas: number };
export type WorkerPlacement = { id: string; models: string[] };

export function placeModels(models: readonly ModelReplicas[]): WorkerPlacement[] {
  const workerCount = Math.max(0, ...models.map((m) => m.replicas));
  const placements: WorkerPlacement[] = [];
  for (let i = 0; i < workerCount; i++) {
    placements.push({ id: `worker-${i}`, models: models.filter((m) => m.replicas > i).map((m) => m.name) });
  }
  return placements;
}

export type PlacementChanges = {
  /** Workers that are new. */
  start: WorkerPlacement[];
  /** Ids of workers no longer placed. */
  stop: string[];
  /** Workers kept under their id whose models changed: stopped, then started with the new ones. */
  replace: WorkerPlacement[];
};

export function placementChanges(current: readonly WorkerPlacement[], next: readonly WorkerPlacement[]): PlacementChanges {
  const now = new Map(current.map((p) => [p.id, p]));
  const wanted = new Set(next.map((p) => p.id));
  const changes: PlacementChanges = { start: [], stop: current.filter((p) => !wanted.has(p.id)).map((p) => p.id), replace: [] };
  for (const placement of next) {
    const running = now.get(placement.id);
    if (!running) changes.start.push(placement);
    else if (!sameModels(running.models, placement.models)) changes.replace.push(placement);
  }
  return changes;
}

function sameModels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((m, i) => m === [...b].sort()[i]);
}
