// The metrics contract as docs/observability.md states it: its tables give
// each metric's name, type and labels, and its Processes section names the
// families of prom-client's default collectors by prefix. Tests compare the
// ops files (dashboard, alert rules) and the real exposition against it, so a
// renamed metric breaks them.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type DocumentedMetric = { name: string; type: MetricType; labels: string[] };

export const OBSERVABILITY_DOC = fileURLToPath(new URL('../../docs/observability.md', import.meta.url));

/** Families from prom-client's default collectors, for the gateway and (labelled `replica`) each worker. */
export const PROCESS_FAMILY_PREFIXES = ['infergate_process_', 'infergate_nodejs_', 'infergate_worker_process_', 'infergate_worker_nodejs_'] as const;

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

/** A table row: | `name` | type | label, label | meaning | */
const ROW = /^\|\s*`(infergate_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|([^|]*)\|/;

export function documentedMetrics(doc: string = readFileSync(OBSERVABILITY_DOC, 'utf8')): DocumentedMetric[] {
  const metrics: DocumentedMetric[] = [];
  for (const line of doc.split('\n')) {
    const match = ROW.exec(line);
    if (!match) continue;
    const labels = match[3]!.split(',').map((label) => label.trim()).filter((label) => label !== '');
    metrics.push({ name: match[1]!, type: match[2] as MetricType, labels });
  }
  return metrics;
}

export function isProcessFamily(name: string): boolean {
  return PROCESS_FAMILY_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * Whether `series` (a name as PromQL selects it) is one the doc promises: a counter or gauge by its name, a histogram
 * by its `_bucket`, `_sum` or `_count` series (its bare name selects nothing), or one of the process families.
 */
export function isDocumentedSeries(series: string, metrics: readonly DocumentedMetric[]): boolean {
  if (isProcessFamily(series)) return true;
  return metrics.some((m) => (m.type === 'histogram' ? HISTOGRAM_SUFFIXES.some((suffix) => series === m.name + suffix) : series === m.name));
}

/** The `infergate_*` names a PromQL expression mentions (no label value of ours starts with `infergate_`). */
export function infergateNamesIn(promql: string): string[] {
  return [...new Set(promql.match(/\binfergate_[a-zA-Z0-9_]+/g) ?? [])];
}
