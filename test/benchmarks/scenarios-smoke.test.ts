// Every scenario, end to end through the CLI with tiny durations, against real
// worker and gateway processes (demo models in a temp dir): each exits 0 and
// writes results.json, report.md with its table, and well-formed SVG charts.
// NGINX is left out here (it may not be installed, and its baseline needs the
// worker's public infer route); nginx.test.ts covers its lifecycle.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioReport } from '../../benchmarks/lib/results.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';
import { svgProblems } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = join(ROOT, 'benchmarks', 'run.ts');

const tiny = ['--duration', '0.3', '--warmup', '0', '--quiet'];
const SCENARIOS: { name: string; args: string[]; expect: (t: Test, report: ScenarioReport) => void }[] = [
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
    name: 'cache',
    args: ['--connections', '4', ...tiny],
    expect: (t, r) => {
      t.same(r.runs.map((x) => x.system), ['cache 0% hits', 'cache 50% hits', 'cache 90% hits', 'cache 100% hits']);
      t.same(r.runs.map((x) => x.body.hitRatio), [undefined, 0.5, 0.9, 1]);
      t.ok(r.highlights.some((h) => h.includes('100%/0%')), 'a 100%/0% ratio');
    },
  },
  {
    name: 'replicas',
    args: ['--systems', 'gateway', '--replica-counts', '1,2', '--connections', '2', ...tiny],
    expect: (t, r) => t.same(r.runs.map((x) => x.replicas), [1, 2]),
  },
];

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const work = mkdtempSync(join(tmpdir(), 'infergate-bench-smoke-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const models = join(work, 'models');
const results = join(work, 'results');

t.before(async () => {
  await writeDemoModels(models);
});

for (const scenario of SCENARIOS) {
  t.test(`scenario ${scenario.name} writes a valid report`, async (t) => {
    const { code, stdout, stderr } = await runCli([scenario.name, '--models', models, '--results', results, '--name', scenario.name, ...scenario.args]);
    t.equal(code, 0, `exit code 0\n${stderr}`);
    t.match(stdout, /\| system \|/, 'the table is printed');
    const dir = join(results, scenario.name);
    const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ScenarioReport;
    t.equal(report.scenario, scenario.name);
    t.equal(report.failed, false);
    t.ok(report.machine.cores > 0 && report.machine.node.startsWith('v'), 'machine facts');
    t.ok('gitCommit' in report.machine, 'git commit recorded');
    for (const run of report.runs) {
      t.ok(run.summary.ok > 0, `${run.system} answered`);
      t.equal(typeof run.summary.histogram, 'string', 'the HDR histogram is kept');
    }
    scenario.expect(t, report);

    const markdown = readFileSync(join(dir, 'report.md'), 'utf8');
    t.match(markdown, /^# /m, 'a heading');
    t.match(markdown, /\n\|[^\n]+\|\n\|(?:-+:?|:?-+:?)\|/, 'a Markdown table');
    const svgs = readdirSync(dir).filter((f) => f.endsWith('.svg'));
    t.same(svgs.sort(), report.charts.map((c) => c.file).sort(), 'one SVG per chart');
    t.ok(svgs.length >= 2, 'at least two charts');
    for (const file of svgs) {
      const svg = readFileSync(join(dir, file), 'utf8');
      t.same(svgProblems(svg), [], `${file} is well-formed SVG`);
      t.match(markdown, `](${file})`, `report.md links ${file}`);
    }
  });
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
  for (const s of SCENARIOS) t.match(help.stdout, s.name);
});

t.test('bodies for a two-input model (FP32 + INT64, a pool of 2) are accepted by a worker', async (t) => {
  const { code, stdout, stderr } = await runCli(['overhead', '--models', models, '--model', 'ranker', '--inputs', 'pool:2', '--systems', 'direct', '--results', results, '--name', 'ranker', ...tiny, '--connections', '1']);
  t.equal(code, 0, stderr);
  t.match(stdout, /\| direct \|/);
});
