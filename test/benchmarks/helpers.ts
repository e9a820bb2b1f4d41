// Shared by the benchmark tests: start a fixture server as its own process
// (so a stalling server never shares the load generator's event loop), and
// stop it at teardown; run a scenario through the CLI and check its report.

import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessGroup } from '../../benchmarks/lib/processes.ts';
import type { ScenarioReport } from '../../benchmarks/lib/results.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';

type Teardown = { teardown(fn: () => unknown): void };

/** Starts test/benchmarks/fixtures/<file> with `args`; resolves to its origin (http://127.0.0.1:PORT). */
export async function startFixture(t: Teardown, file: string, args: string[] = []): Promise<string> {
  const processes = new ProcessGroup();
  t.teardown(() => processes.stopAll());
  const { match } = await processes.start(file, process.execPath, [join(import.meta.dirname, 'fixtures', file), ...args], {
    ready: /listening on (http:\/\/\S+)/,
    readyTimeoutMs: 30_000,
  });
  return match![1]!;
}

const RUN = join(fileURLToPath(new URL('../..', import.meta.url)), 'benchmarks', 'run.ts');

/** `node benchmarks/run.ts …args` as its own process. */
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

/** `folder`: the results folder (default: the scenario's name), for a second case of one scenario. */
export type SmokeCase = { name: string; folder?: string; args: string[]; expect: (t: Test, report: ScenarioReport) => void };
export type SmokeDirs = { models: string; results: string };

/** A temp dir with the demo models (written before the tests), removed at teardown. */
export function smokeWorkspace(t: Test): SmokeDirs {
  const work = mkdtempSync(join(tmpdir(), 'infergate-bench-smoke-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const dirs = { models: join(work, 'models'), results: join(work, 'results') };
  t.before(async () => {
    await writeDemoModels(dirs.models);
  });
  return dirs;
}

/** Runs a scenario through the CLI: exit 0, the table on stdout, results.json, report.md and one well-formed SVG per chart. */
export async function smokeScenario(t: Test, scenario: SmokeCase, dirs: SmokeDirs): Promise<void> {
  const folder = scenario.folder ?? scenario.name;
  const { code, stdout, stderr } = await runCli([scenario.name, '--models', dirs.models, '--results', dirs.results, '--name', folder, ...scenario.args]);
  t.equal(code, 0, `exit code 0\n${stderr}`);
  t.match(stdout, /\| system \|/, 'the table is printed');
  const dir = join(dirs.results, folder);
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
}

/**
 * A small well-formedness check for the SVG we write (no DTDs, CDATA or
 * processing instructions): one <svg> root, every tag closed in order, no
 * stray '<' or unescaped '&'. Returns the problems found (empty = fine).
 */
export function svgProblems(text: string): string[] {
  const problems: string[] = [];
  if (!/^<svg\b[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(text)) problems.push('does not start with an <svg xmlns=…> root');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let roots = 0;
  for (let m = tag.exec(text); m !== null; m = tag.exec(text)) {
    const between = text.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) problems.push(`malformed markup near ${JSON.stringify(between.slice(0, 40))}`);
    if (/&(?!(?:lt|gt|amp|quot|apos|#\d+);)/.test(between)) problems.push(`unescaped & in ${JSON.stringify(between.slice(0, 40))}`);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  if (text.slice(last).trim() !== '') problems.push('text after the root element');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
