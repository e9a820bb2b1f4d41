// Writes a results folder:
//
//   <results>/<date>-<scenario>/
//     results.json   the whole ScenarioReport (machine facts, config, runs with
//                    HDR histograms and per-second timelines, capacities)
//     report.md      the Markdown table, highlights, notes and chart links
//     *.svg          one file per chart

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarkdown } from './report-markdown.ts';
import type { ScenarioReport } from './results.ts';
import { renderChart } from '../../common/charts/render-chart.ts';

export function resultsFolderName(report: Pick<ScenarioReport, 'scenario' | 'startedAt'>): string {
  return `${report.startedAt.slice(0, 10)}-${report.scenario}`;
}

/** Writes results.json, report.md and the charts into `dir`; returns the written paths. */
export function writeReport(dir: string, report: ScenarioReport): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, content: string): void => {
    writeFileSync(join(dir, name), content);
    written.push(join(dir, name));
  };
  write('results.json', `${JSON.stringify(report, null, 2)}\n`);
  write('report.md', renderMarkdown(report));
  for (const chart of report.charts) write(chart.file, renderChart(chart));
  return written;
}
