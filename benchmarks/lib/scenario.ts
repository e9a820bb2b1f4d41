// What a scenario is, and where scenarios are found. A scenario is one file
// in benchmarks/scenarios/ whose default export is a Scenario: adding one
// (batching, cache, chaos, …) is adding that file, nothing else.

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Harness } from './harness.ts';
import type { BenchOptions } from './options.ts';
import type { ChartSpec, ScenarioReport } from './results.ts';

export type Scenario = {
  name: string;
  /** Report heading. */
  title: string;
  /** One line for --help. */
  summary: string;
  /** A paragraph for the report: what is compared and how to read it. */
  description: string;
  /** Option defaults of this scenario (flags still win). */
  defaults: Partial<BenchOptions>;
  /** Drives the systems through the harness (load generation and recording happen there). */
  run(harness: Harness): Promise<void>;
  /** Derived lines, charts and extra Markdown sections, computed from the recorded report only (re-runnable on a results.json). */
  present(report: ScenarioReport): { highlights: string[]; charts: ChartSpec[]; sections?: string[] };
};

const SCENARIO_DIR = join(import.meta.dirname, '..', 'scenarios');

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
}

export async function loadScenario(name: string): Promise<Scenario | null> {
  if (!scenarioNames().includes(name)) return null;
  const module = (await import(join(SCENARIO_DIR, `${name}.ts`))) as { default: Scenario };
  return module.default;
}

export async function loadAllScenarios(): Promise<Scenario[]> {
  return Promise.all(scenarioNames().map(async (n) => (await loadScenario(n))!));
}
