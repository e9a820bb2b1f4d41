// Which local worker process hosts which models. A model asking for R
// replicas is loaded by workers 0..R-1, so the number of processes is the
// largest R and every model gets exactly the replicas it asked for:
//
//   classifier ×3, heavy ×1, ranker ×2  →  worker-0 [classifier heavy ranker]
//                                          worker-1 [classifier ranker]
//                                          worker-2 [classifier]

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
