// Every scenario, end to end through the CLI with tiny durations, against real
// worker and gateway processes (demo models in a temp dir): each exits 0 and
// writes results.json, report.md with its table, and well-formed SVG charts.
// NGINX is left out here (it may not be installed, and its baseline needs the
// worker's public infer route); nginx.test.ts covers its lifecycle. The chaos
// scenario has its own file (chaos-smoke.test.ts), batching too (its
// in-process reference sessions: scenario-batching-smoke.test.ts), and the
// scenarios of several processes or protocols theirs
// (scenarios-fleet-smoke.test.ts), so each file stays well inside the
// per-file timeout.

import t from 'tap';
import { scenarioNames } from '../../benchmarks/lib/scenario.ts';
import { runCli, smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const tiny = ['--duration', '0.3', '--warmup', '0', '--quiet'];
const SCENARIOS: SmokeCase[] = [
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
    name: 'memory',
    args: ['--connections', '2', ...tiny],
    expect: (t, r) => {
      const memory = r.runs[0]?.memory;
      t.ok(memory && memory.rssPeakBytes >= memory.rssStartBytes && memory.rssStartBytes > 0, 'the gateway\'s RSS sampled');
      t.ok(memory?.cacheMaxBytes !== undefined && memory.cacheBytes! <= memory.cacheMaxBytes, 'the cache tier within its bound');
      t.ok(r.highlights.some((h) => /gateway RSS .* at most/.test(h)), 'a highlight with the RSS');
    },
  },
  {
    name: 'scaling',
    args: ['--rate', '50', '--duration', '2', '--warmup', '0', '--quiet'],
    expect: (t, r) => {
      const timeline = r.runs[0]?.eventTimeline;
      t.same(timeline?.replicas?.map((s) => s.offeredPerS), [125, 88], 'the mean offered rate per second (the steps to 4× and back fall mid-second)');
      t.ok(timeline?.replicas?.every((s) => s.ready >= 1 && s.desired >= 1), 'replicas sampled every second');
      t.ok(r.highlights.some((h) => h === 'failed requests: 0'), 'no failed request');
    },
  },
  {
    // 8 s: the bad candidate is stopped about a second after its POST (at 0.8 s; 3 s on a busy machine), while the
    // good one cannot be promoted yet (its stages last at least 2 + 3 + 3 s): the run ends first and must say so,
    // not hang — unless a gate rolled the good one back (its latency gate can, on a loaded machine).
    name: 'rollout',
    args: ['--rate', '100', '--duration', '8', '--quiet'],
    expect: (t, r) => {
      const events = r.runs[0]?.eventTimeline?.events ?? [];
      t.ok(events.some((e) => e.kind === 'rolled-back' && e.label.startsWith('v3 ')), 'the bad candidate rolled back');
      t.ok(events.some((e) => e.kind === 'post' && e.label.startsWith('v2 ') && !e.skipped), 'the good candidate was POSTed once the bad one had ended');
      t.ok(r.highlights.some((h) => /^bad candidate 3 .*: rolled back .* gate agreement failed/.test(h)), 'the rollback and its reason');
      t.ok(r.highlights.some((h) => h.startsWith('failed client requests: 0 (target 0); answered by the bad candidate 3: 0 ')), 'no failed request, no answer from the bad candidate');
      t.ok(r.highlights.some((h) => /^the run ended before both rollouts did: good candidate 2 .* still running|^good candidate 2 .*: rolled back/.test(h)), 'the unfinished rollout is named');
      t.notOk(r.highlights.some((h) => h.startsWith('good candidate 2') && h.includes('promoted')), 'no promotion within 8 s');
      t.ok(r.runs[0]?.eventTimeline?.versions?.every((s) => s.answers['1']! > 0 && s.answers['3'] === undefined), 'version 1 answered every second, version 3 never');
    },
  },
];

const dirs = smokeWorkspace(t);

for (const scenario of SCENARIOS) {
  t.test(`scenario ${scenario.folder ?? scenario.name} writes a valid report`, (t) => smokeScenario(t, scenario, dirs));
}

t.test('a usage error exits 2 and an unknown scenario is named', async (t) => {
  const unknown = await runCli(['no-such-scenario']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown scenario "no-such-scenario"/);
  const badFlag = await runCli(['overhead', '--connections', 'many']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /--connections/);
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  for (const name of scenarioNames()) t.match(help.stdout, name);
});

t.test('bodies for a two-input model (FP32 + INT64, a pool of 2) are accepted by a worker', async (t) => {
  const { code, stdout, stderr } = await runCli(['overhead', '--models', dirs.models, '--model', 'ranker', '--inputs', 'pool:2', '--systems', 'direct', '--results', dirs.results, '--name', 'ranker', ...tiny, '--connections', '1']);
  t.equal(code, 0, stderr);
  t.match(stdout, /\| direct \|/);
});
