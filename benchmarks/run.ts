#!/usr/bin/env node
// Benchmark entry: `npm run bench -- <scenario> [options]` (see --help).
//
// Composition root of the harness: parse options, load the scenario, wire
// SIGINT and the process group, run, write the results folder, print the
// Markdown table on stdout, and exit 0 (all runs passed), 1 (a run failed),
// 2 (usage error) or 130 (interrupted). The only file here that exits.

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baselineNote, baselineProblem } from './lib/baseline.ts';
import { Harness } from './lib/harness.ts';
import { machineFacts } from './lib/machine.ts';
import { defaultOptions, OptionsError, parseCommandLine, type BenchOptions } from './lib/options.ts';
import { ProcessGroup } from './lib/processes.ts';
import { ProgressLine } from './lib/progress.ts';
import { resultsFolderName, writeReport } from './lib/report-files.ts';
import { renderMarkdown } from './lib/report-markdown.ts';
import type { ScenarioReport } from './lib/results.ts';
import { loadAllScenarios, loadScenario } from './lib/scenario.ts';
import { usage } from './lib/usage.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs one benchmark scenario; resolves to the process exit code. */
export async function runBench(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const help = async (): Promise<string> => usage(await loadAllScenarios());
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${await help()}`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(await help());
    return 0;
  }
  const scenario = command.scenario === undefined ? null : await loadScenario(command.scenario);
  if (!scenario) {
    process.stderr.write(`bench: ${command.scenario === undefined ? 'which scenario?' : `unknown scenario "${command.scenario}"`}\n\n${await help()}`);
    return 2;
  }
  const options: BenchOptions = { ...defaultOptions(ROOT, env), ...scenario.defaults, ...command.flags, scenario: scenario.name };
  options.modelsDir = resolve(options.modelsDir);
  options.resultsDir = resolve(options.resultsDir);
  const needsModels = options.systems.some((s) => s !== 'hello');
  if (needsModels && !(existsSync(options.modelsDir) && readdirSync(options.modelsDir).includes(options.model))) {
    process.stderr.write(`bench: model "${options.model}" not found in ${options.modelsDir} (write the demo models with \`npm run models\`, or pass --models DIR)\n`);
    return 2;
  }
  if (options.baseline !== undefined) {
    options.baseline = resolve(options.baseline);
    const problem = baselineProblem(options.baseline);
    if (problem) {
      process.stderr.write(`bench: ${problem}\n`);
      return 2;
    }
  }

  const processes = new ProcessGroup();
  const abort = new AbortController();
  const progress = new ProgressLine({ quiet: options.quiet });
  const onSigint = (): void => {
    if (abort.signal.aborted) {
      processes.killAllNow();
      process.exit(130);
    }
    progress.note('interrupted: stopping the load and every started process (Ctrl-C again to kill them)');
    abort.abort();
  };
  const onExit = (): void => processes.killAllNow();
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  process.on('exit', onExit);

  const startedAt = new Date().toISOString();
  const machine = machineFacts(ROOT);
  const harness = new Harness({ options, root: ROOT, processes, progress, signal: abort.signal, env });
  if (options.baseline !== undefined) harness.note(baselineNote(options.baseline));
  try {
    await scenario.run(harness);
  } catch (err) {
    harness.fail(`scenario ${scenario.name}: ${(err as Error).stack ?? err}`);
  } finally {
    await processes.stopAll();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    process.off('exit', onExit);
  }
  if (abort.signal.aborted) harness.notes.push('Interrupted before the end: results are partial.');

  const report: ScenarioReport = {
    scenario: scenario.name,
    title: scenario.title,
    description: scenario.description,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    config: { ...options, ...(harness.gatewayConfig && { gatewayConfig: harness.gatewayConfig }) },
    runs: harness.runs,
    capacities: harness.capacities,
    highlights: [],
    notes: harness.notes,
    charts: [],
    failed: harness.failed || abort.signal.aborted,
  };
  Object.assign(report, scenario.present(report));
  const dir = join(options.resultsDir, options.name ?? resultsFolderName(report));
  writeReport(dir, report);
  process.stdout.write(`\n${renderMarkdown(report, { headingLevel: 2, charts: false })}\nresults: ${dir}\n`);
  if (abort.signal.aborted) return 130;
  return report.failed ? 1 : 0;
}

if (import.meta.main) {
  // Exit explicitly: idle keep-alive sockets of the readiness checks would otherwise hold the loop a few seconds.
  process.exit(await runBench(process.argv.slice(2)));
}
