// Triton's statistics of several gateway processes as one body (the leader
// answers for all when server.processes > 1). Pure: counts and durations add
// up, per model version and per batch size; last_inference is the latest.

import type { DurationStat, ModelStat, ModelStatsBody } from './inference-stats.ts';

export function mergeModelStats(bodies: readonly ModelStatsBody[]): ModelStatsBody {
  const merged = new Map<string, ModelStat>();
  for (const body of bodies) {
    for (const stat of body.model_stats) {
      const key = `${stat.name}/${stat.version}`;
      const known = merged.get(key);
      merged.set(key, known ? addStat(known, stat) : stat);
    }
  }
  return { model_stats: [...merged.values()] };
}

function addStat(a: ModelStat, b: ModelStat): ModelStat {
  const inference = Object.fromEntries(Object.entries(a.inference_stats).map(([name, d]) => [name, add(d, b.inference_stats[name as keyof ModelStat['inference_stats']])]));
  const batches = new Map(a.batch_stats.map((s) => [s.batch_size, s]));
  for (const s of b.batch_stats) {
    const known = batches.get(s.batch_size);
    batches.set(s.batch_size, known ? { batch_size: s.batch_size, compute_input: add(known.compute_input, s.compute_input), compute_infer: add(known.compute_infer, s.compute_infer), compute_output: add(known.compute_output, s.compute_output) } : s);
  }
  return {
    ...a,
    last_inference: Math.max(a.last_inference, b.last_inference),
    inference_count: a.inference_count + b.inference_count,
    execution_count: a.execution_count + b.execution_count,
    inference_stats: inference as ModelStat['inference_stats'],
    batch_stats: [...batches.values()].sort((x, y) => x.batch_size - y.batch_size),
  };
}

function add(a: DurationStat, b: DurationStat): DurationStat {
  return { count: a.count + b.count, ns: a.ns + b.ns };
}
