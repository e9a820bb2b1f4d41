// The real exposition of GET /metrics, from a gateway over two real workers
// after some requests: Prometheus' own linter (`promtool check metrics`)
// accepts it, the workers' families arrive labelled by replica, every
// metric docs/observability.md lists is there with its documented type and
// labels (prom-client prints HELP and TYPE even for a family with no samples
// yet), and every family there is documented. promtool comes from Debian's `prometheus` package; without it that
// check skips.

import { execFile } from 'node:child_process';
import t from 'tap';
import { promtool } from '../helpers/debian-tool.ts';
import { allReplicasReady, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { documentedMetrics, isProcessFamily, PROCESS_FAMILY_PREFIXES } from '../helpers/metrics-contract.ts';
import { parsePrometheusText, scrape, sumOf } from '../helpers/prometheus-text.ts';

const tool = await promtool();
const skipPromtool = typeof tool === 'string' ? false : `promtool cannot be had: ${tool.unavailable}`;
const random = seededRandom(1414);
const classifier = (rows = 1) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] });

/** promtool's lint of prom-client's default gauges `nodejs_active_{handles,requests,resources}_total`. */
const PROM_CLIENT_LINT = /^infergate_(worker_)?nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/** `# TYPE name type` lines of an exposition. */
function declaredTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name!, type!);
  return types;
}

function checkMetrics(tool: string, exposition: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(tool, ['check', 'metrics'], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin!.end(exposition);
  });
}

t.test('GET /metrics: lint-clean, workers labelled by replica, every documented metric there', async (t) => {
  const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 2 } });
  await allReplicasReady(gateway);
  const answers = await Promise.all([
    ...Array.from({ length: 12 }, () => postJson(`${url}/v2/models/classifier/infer`, classifier())),
    postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }),
    postJson(`${url}/v2/models/no-such-model/infer`, classifier()),
  ]);
  t.same(answers.map((a) => a.status), [...Array(12).fill(200), 400, 404]);
  // A batch goes to one replica: more requests until each worker has run one, so both have run samples.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await scrape(url);
    if (['worker-0', 'worker-1'].every((replica) => sumOf(now, 'infergate_worker_runs_total', { replica }) > 0)) break;
    if (Date.now() > deadline) throw new Error('a worker ran no request');
    await Promise.all(Array.from({ length: 4 }, () => postJson(`${url}/v2/models/classifier/infer`, classifier())));
  }

  const res = await fetch(`${url}/metrics`);
  const exposition = await res.text();
  t.equal(res.status, 200, 'GET /metrics answers', { body: exposition.slice(0, 300) });
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const samples = parsePrometheusText(exposition);

  t.test('promtool check metrics accepts it', { skip: skipPromtool }, async (t) => {
    // Exit 1: it did not parse; exit 3: it parsed, with lint problems (one a line). prom-client's default collectors
    // name three gauges `..._total`; those are known and not ours to rename, every other problem fails.
    const { code, output } = await checkMetrics(tool as string, exposition);
    t.ok(code === 0 || code === 3, 'the exposition parses', { code, output });
    const problems = output.split('\n').filter((line) => line.trim() !== '' && !PROM_CLIENT_LINT.test(line));
    t.same(problems, [], 'no lint problem but those of prom-client\'s own gauges');
  });

  t.test("the workers' families are labelled by replica", async (t) => {
    for (const replica of ['worker-0', 'worker-1']) {
      const mine = samples.filter((s) => s.labels.replica === replica);
      t.ok(mine.some((s) => s.name === 'infergate_worker_runs_total'), `${replica}'s runs`);
      t.ok(mine.some((s) => s.name === 'infergate_worker_compute_seconds_bucket'), `${replica}'s compute histogram`);
      t.ok(mine.some((s) => s.name.startsWith('infergate_worker_process_')), `${replica}'s process metrics`);
      t.ok(mine.some((s) => s.name.startsWith('infergate_worker_nodejs_')), `${replica}'s Node.js metrics`);
    }
    const unlabelled = samples.filter((s) => s.name.startsWith('infergate_worker_') && !s.labels.replica);
    t.same(unlabelled.map((s) => s.name), [], 'no worker sample without its replica');
  });

  t.test('every documented metric is there, with its type and labels', async (t) => {
    const types = declaredTypes(exposition);
    for (const metric of documentedMetrics()) {
      t.equal(types.get(metric.name), metric.type, `${metric.name} is a ${metric.type}`);
      // Each distinct set of label names its samples carry (a bucket's `le` aside) must be the documented one.
      const suffixes = metric.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
      const labelSets = new Set<string>();
      for (const sample of samples.filter((s) => suffixes.some((suffix) => s.name === metric.name + suffix))) {
        labelSets.add(Object.keys(sample.labels).filter((label) => !(label === 'le' && sample.name.endsWith('_bucket'))).sort().join(','));
      }
      for (const labels of labelSets) t.equal(labels, [...metric.labels].sort().join(','), `${metric.name}'s labels`);
    }
    for (const prefix of PROCESS_FAMILY_PREFIXES) t.ok([...types.keys()].some((name) => name.startsWith(prefix)), `${prefix}* families`);
  });

  t.test('every metric there is documented', async (t) => {
    const documented = new Set(documentedMetrics().map((m) => m.name));
    const undocumented = [...declaredTypes(exposition).keys()].filter((name) => !documented.has(name) && !isProcessFamily(name));
    t.same(undocumented, [], 'no family missing from docs/observability.md');
  });
});
