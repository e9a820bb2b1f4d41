// Shared by the scenario smoke tests: run `benchmarks/run.ts` as its own
// process, and check that a scenario run with tiny durations exits 0 and
// writes results.json, report.md with its table, and well-formed SVG charts.
// (Split over files so each stays within tap's per-file timeout.)

import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioReport } from '../../benchmarks/lib/results.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';
import { svgProblems } from './helpers.ts';

const RUN = join(fileURLToPath(new URL('../..', import.meta.url)), 'benchmarks', 'run.ts');

export const tiny = ['--duration', '0.3', '--warmup', '0', '--quiet'];

export type ScenarioSmoke = { name: string; args: string[]; expect: (t: Test, report: ScenarioReport) => void };

export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Demo models and a results dir in a temp dir (written before the first test), and one test per scenario. */
export function smokeScenarios(t: Test, scenarios: readonly ScenarioSmoke[]): { models: string; results: string } {
  const work = mkdtempSync(join(tmpdir(), 'infergate-bench-smoke-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const models = join(work, 'models');
  const results = join(work, 'results');
  t.before(async () => {
    await writeDemoModels(models);
  });
  for (const scenario of scenarios) {
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
  return { models, results };
}
