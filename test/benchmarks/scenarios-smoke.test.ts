// Every scenario, end to end through the CLI with tiny durations, against real
// worker and gateway processes (demo models in a temp dir): each exits 0 and
// writes results.json, report.md with its table, and well-formed SVG charts.
// NGINX is left out here (it may not be installed, and its baseline needs the
// worker's public infer route); nginx.test.ts covers its lifecycle. The cache
// scenario has its own file (scenario-cache-smoke.test.ts).

import t from 'tap';
import { runCli, smokeScenarios, tiny, type ScenarioSmoke } from './smoke.ts';

const SCENARIOS: ScenarioSmoke[] = [
  {
    name: 'overhead',
    args: ['--systems', 'direct,gateway,hello', '--connections', '2,4', ...tiny],
    expect: (t, r) => {
      t.same([...new Set(r.runs.map((x) => x.system))], ['direct', 'gateway', 'hello'], 'every system ran');
      t.equal(r.runs.length, 6, 'two connection counts each');
      t.ok(r.highlights.some((h) => h.includes('gateway/direct')), 'a gateway/direct ratio');
    },
  },
  {
    name: 'concurrency',
    args: ['--systems', 'direct', '--connections', '1,4', ...tiny],
    expect: (t, r) => t.same(r.runs.map((x) => x.load.connections), [1, 4]),
  },
  {
    name: 'capacity',
    args: ['--systems', 'direct', '--start-rate', '20', '--max-probes', '3', '--probe-duration', '0.3', '--slo-ms', '2000', '--open-connections', '4', ...tiny],
    expect: (t, r) => {
      t.equal(r.capacities.length, 1);
      t.equal(r.capacities[0]!.probes.length, 3, 'three probes');
      t.ok(r.capacities[0]!.capacityPerS > 0, 'a capacity was found');
    },
  },
  {
    name: 'batching',
    args: ['--systems', 'gateway', '--connections', '4', ...tiny],
    expect: (t, r) => {
      t.same([...new Set(r.runs.map((x) => `${x.model} ${x.system}`))], [
        'classifier gateway batching off',
        'classifier gateway batching on',
        'heavy gateway batching off',
        'heavy gateway batching on',
      ]);
      t.ok(r.highlights.some((h) => h.includes('on/off')), 'an on/off ratio');
    },
  },
  {
    name: 'replicas',
    args: ['--systems', 'gateway', '--replica-counts', '1,2', '--connections', '2', ...tiny],
    expect: (t, r) => t.same(r.runs.map((x) => x.replicas), [1, 2]),
  },
];

const { models, results } = smokeScenarios(t, SCENARIOS);

t.test('a usage error exits 2 and an unknown scenario is named', async (t) => {
  const unknown = await runCli(['no-such-scenario']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown scenario "no-such-scenario"/);
  const badFlag = await runCli(['overhead', '--connections', 'many']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /--connections/);
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  for (const s of SCENARIOS) t.match(help.stdout, s.name);
});

t.test('bodies for a two-input model (FP32 + INT64, a pool of 2) are accepted by a worker', async (t) => {
  const { code, stdout, stderr } = await runCli(['overhead', '--models', models, '--model', 'ranker', '--inputs', 'pool:2', '--systems', 'direct', '--results', results, '--name', 'ranker', ...tiny, '--connections', '1']);
  t.equal(code, 0, stderr);
  t.match(stdout, /\| direct \|/);
});
