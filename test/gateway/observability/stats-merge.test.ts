// Statistics of several processes as one: counts and durations add up per
// version and per batch size, the latest inference wins, and a version one
// process has not served keeps the other's numbers.

import t from 'tap';
import type { ModelStat } from '../../../gateway/observability/inference-stats.ts';
import { mergeModelStats } from '../../../gateway/observability/stats-merge.ts';

const d = (count: number, ns: number) => ({ count, ns });
function stat(version: string, runs: number, last: number, batches: Array<[number, number]>): ModelStat {
  const same = d(runs, runs * 1000);
  return {
    name: 'm',
    version,
    last_inference: last,
    inference_count: runs,
    execution_count: runs,
    inference_stats: { success: same, fail: d(0, 0), queue: same, compute_input: same, compute_infer: same, compute_output: same, cache_hit: d(0, 0), cache_miss: same },
    response_stats: {},
    batch_stats: batches.map(([size, count]) => ({ batch_size: size, compute_input: d(count, 1), compute_infer: d(count, 2), compute_output: d(count, 3) })),
    memory_usage: [],
  };
}

t.test('two processes as one body', async (t) => {
  const merged = mergeModelStats([{ model_stats: [stat('1', 3, 100, [[1, 3]]), stat('2', 0, 0, [])] }, { model_stats: [stat('1', 5, 250, [[1, 1], [4, 1]]), stat('2', 2, 50, [[2, 1]])] }]);
  const [v1, v2] = merged.model_stats;
  t.equal(v1!.inference_count, 8);
  t.same(v1!.inference_stats.success, d(8, 8000));
  t.equal(v1!.last_inference, 250, 'the latest inference of either');
  t.same(v1!.batch_stats.map((b) => [b.batch_size, b.compute_infer.count, b.compute_infer.ns]), [[1, 4, 4], [4, 1, 2]], 'per batch size, ascending');
  t.equal(v2!.inference_count, 2, 'a version only the other process served');
  t.same(v2!.batch_stats.map((b) => b.batch_size), [2]);
  t.same(mergeModelStats([]), { model_stats: [] });
});
