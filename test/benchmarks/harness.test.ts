// The harness judges runs: errors or non-2xx beyond the allowance fail the
// run (and the benchmark), within it they do not.

import t from 'tap';
import { fileURLToPath } from 'node:url';
import { createBodySource } from '../../benchmarks/lib/bodies.ts';
import { Harness, type Target } from '../../benchmarks/lib/harness.ts';
import { defaultOptions, type BenchOptions } from '../../benchmarks/lib/options.ts';
import { ProcessGroup } from '../../benchmarks/lib/processes.ts';
import { ProgressLine } from '../../benchmarks/lib/progress.ts';
import { startFixture } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function harness(overrides: Partial<BenchOptions>, env?: NodeJS.ProcessEnv): Harness {
  const options = { ...defaultOptions(ROOT, {}), ...overrides };
  return new Harness({ options, root: ROOT, processes: new ProcessGroup(), progress: new ProgressLine({ quiet: true }), signal: new AbortController().signal, ...(env && { env }) });
}

function target(origin: string): Target {
  const bodies = createBodySource({ format: 'json', model: 'm', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], rows: 2, mode: 'unique', seed: 3 });
  return { system: { name: 'hello', origin, inferPath: '/', format: 'json', replicas: 1, signature: null, roots: [], stop: async () => {} }, bodies, label: 'hello', model: 'm' };
}

t.test('a run whose non-2xx answers exceed the allowance fails the benchmark', async (t) => {
  // A bucket that never refills: every request after the first two is answered 503.
  const origin = await startFixture(t, 'token-bucket-server.ts', ['--rate', '0.000001', '--burst', '2']);
  const h = harness({ maxErrorRate: 0.001 });
  const run = await h.measure(target(origin), { mode: 'closed', connections: 2, pipelining: 1, durationS: 0.3 });
  t.ok(run.summary.non2xx > 0, 'non-2xx answers recorded');
  t.ok(run.summary.statusCodes['503']! > 0, 'by status code');
  t.match(run.failure, /allowance/);
  t.ok(h.failed, 'the benchmark failed');
  t.match(h.notes.join('\n'), /FAILED: hello closed, 2 conn/);
});

t.test('a run within the allowance passes', async (t) => {
  const origin = await startFixture(t, 'token-bucket-server.ts', ['--rate', '100000', '--burst', '100000']);
  const h = harness({ maxErrorRate: 0.001 });
  const run = await h.measure(target(origin), { mode: 'open', ratePerS: 100, arrivals: 'constant', connections: 4, durationS: 0.5 });
  t.equal(run.failure, undefined);
  t.notOk(h.failed);
  t.equal(h.runs.length, 1);
  t.equal(run.body.rows, 2);
  t.equal(run.body.format, 'json');
});

t.test('an unjudged run (chaos) may fail requests; what runs alongside starts with the load and is awaited', async (t) => {
  const origin = await startFixture(t, 'token-bucket-server.ts', ['--rate', '0.000001', '--burst', '2']);
  const h = harness({ maxErrorRate: 0.001 });
  let alongsideStart = -1;
  let alongsideDone = false;
  let observed = 0;
  const run = await h.measure(target(origin), { mode: 'open', ratePerS: 40, arrivals: 'constant', connections: 2, durationS: 0.3 }, {
    judged: false,
    observe: () => observed++,
    alongside: async (startMs) => {
      alongsideStart = startMs;
      await new Promise((resolve) => setTimeout(resolve, 400));
      alongsideDone = true;
    },
  });
  t.ok(run.summary.non2xx > 0, 'non-2xx answers beyond the allowance');
  t.equal(run.failure, undefined, 'not a failure');
  t.notOk(h.failed);
  t.ok(alongsideStart > 0 && alongsideDone, 'started at the load start, awaited');
  t.equal(observed, run.summary.responses + run.summary.errors, 'the observer saw every request');
});

t.test('systems started together skip one that cannot run here, with a note, and start the rest', async (t) => {
  const h = harness({ warmupS: 0 }, { NGINX_BIN: '/nonexistent/nginx' });
  let labels: string[] = [];
  await h.withSystems([['nginx', {}], ['hello', { label: 'hello-1' }], ['hello', { label: 'hello-2' }]], async (targets) => {
    labels = targets.map((x) => x.label);
  });
  t.same(labels, ['hello-1', 'hello-2']);
  t.match(h.notes.join('\n'), /nginx skipped: /);
  t.notOk(h.failed);
});
