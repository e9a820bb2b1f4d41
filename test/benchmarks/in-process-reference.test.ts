// The batching scenario's in-process reference: one onnxruntime-node session
// in a child process, on a demo model, for about a second (half a second per
// batch size); and the session options it takes from the gateway's config.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestModelFile, measureInProcess, workerSessionOptions } from '../../benchmarks/lib/in-process-reference.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';

t.test('the workers\' session options come from the gateway config: one intra-op thread by default, an overlay wins', async (t) => {
  t.same(workerSessionOptions({}), { intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  t.equal(workerSessionOptions({ workers: { sessionOptions: { intraOpThreads: 2 } } }).intraOpThreads, 2);
});

t.test('one session in a child process reports rows/s at batch 1 and batch 32', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'infergate-reference-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  await writeDemoModels(work);
  const modelFile = latestModelFile(work, 'classifier');
  t.match(modelFile, /classifier[\\/]2[\\/]model\.onnx$/, 'the latest version, as a request naming none gets');

  const reference = await measureInProcess({ modelFile, batchSizes: [1, 32], durationS: 0.5, warmupRuns: 5, session: workerSessionOptions({}), seed: 1 });
  t.equal(reference.intraOpThreads, 1);
  t.same(reference.batches.map((b) => b.batch), [1, 32]);
  for (const b of reference.batches) {
    t.ok(b.runs > 0 && b.elapsedS >= 0.5, `batch ${b.batch}: ran for its duration`);
    t.equal(Math.round(b.rowsPerS / b.runsPerS), b.batch, `batch ${b.batch}: rows are runs × batch`);
    t.ok(b.p99Ms >= b.p50Ms && b.p50Ms > 0, `batch ${b.batch}: latency percentiles`);
  }
});

t.test('a model file that cannot be loaded fails with the child\'s message', async (t) => {
  await t.rejects(
    measureInProcess({ modelFile: join(tmpdir(), 'no-such-model.onnx'), batchSizes: [1], durationS: 0.1, warmupRuns: 0, session: workerSessionOptions({}), seed: 1 }),
    /in-process reference .* exited 1/,
  );
});
