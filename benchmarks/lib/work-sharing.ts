// How a run's work spread over the workers and the gateway processes, from
// the gateway's GET /metrics scraped before and after the run. The counters
// are cumulative since each process started, so the run's share is their
// difference; one scrape of any process covers all of them (the leader
// merges its fronts' samples, labelled `process`, and the workers' own,
// labelled `replica`, once).
//
//   requests per worker  infergate_worker_batch_rows_sum   rows run (= requests at one row each,
//                                                          batched or not; runs_total counts batches;
//                                                          unique bodies: a batch runs identical rows once)
//   rows per run         …_batch_rows_sum / infergate_worker_runs_total{outcome="ok"}
//   share by process     infergate_requests_total by `process` (absent with one process: "leader")

import { parsePrometheusText, sumBy, type MetricSample } from './prometheus-text.ts';
import type { RunSharing } from './results.ts';

/** The label of a gateway that serves its port alone (its samples carry no `process` label). */
const ONLY_PROCESS = 'leader';

/** GET /metrics of a gateway, parsed. */
export async function scrapeMetrics(origin: string, signal?: AbortSignal): Promise<MetricSample[]> {
  const res = await fetch(`${origin}/metrics`, { signal });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${origin}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  return parsePrometheusText(text);
}

/** The run's work on `model`, between two scrapes of one gateway. */
export function sharingBetween(before: readonly MetricSample[], after: readonly MetricSample[], model: string): RunSharing {
  const ofModel = (l: Readonly<Record<string, string>>): boolean => l.model === model;
  const replicaOf = (l: Readonly<Record<string, string>>): string => l.replica ?? '?';
  const processOf = (l: Readonly<Record<string, string>>): string => l.process ?? ONLY_PROCESS;
  const delta = (name: string, by: (l: Readonly<Record<string, string>>) => string, where = ofModel): Map<string, number> =>
    difference(sumBy(before, name, by, where), sumBy(after, name, by, where));

  const rows = delta('infergate_worker_batch_rows_sum', replicaOf);
  const runs = delta('infergate_worker_runs_total', replicaOf, (l) => ofModel(l) && l.outcome === 'ok');
  const workers: RunSharing['workers'] = {};
  for (const id of [...new Set([...rows.keys(), ...runs.keys()])].sort()) workers[id] = { rows: rows.get(id) ?? 0, runs: runs.get(id) ?? 0 };

  const requests = delta('infergate_requests_total', processOf);
  const batches = delta('infergate_batch_size_rows_count', processOf);
  const batchRows = delta('infergate_batch_size_rows_sum', processOf);
  const processes: RunSharing['processes'] = {};
  for (const p of [...new Set([...requests.keys(), ...batches.keys()])].sort(byProcess)) {
    processes[p] = { requests: requests.get(p) ?? 0, batches: batches.get(p) ?? 0, batchRows: batchRows.get(p) ?? 0 };
  }
  return { workers, processes, ...balance(Object.values(workers)) };
}

/** max/min and coefficient of variation of the workers' rows, and rows per run over all of them. */
export function balance(workers: ReadonlyArray<{ rows: number; runs: number }>): Pick<RunSharing, 'rowsMaxMin' | 'rowsCv' | 'rowsPerRun'> {
  const rows = workers.map((w) => w.rows);
  const total = rows.reduce((a, b) => a + b, 0);
  const runs = workers.reduce((a, w) => a + w.runs, 0);
  const mean = rows.length > 0 ? total / rows.length : 0;
  const variance = rows.length > 0 ? rows.reduce((a, r) => a + (r - mean) ** 2, 0) / rows.length : 0;
  const lowest = Math.min(...rows);
  return {
    rowsMaxMin: rows.length > 0 && lowest > 0 ? Math.max(...rows) / lowest : null,
    rowsCv: mean > 0 ? Math.sqrt(variance) / mean : 0,
    rowsPerRun: runs > 0 ? total / runs : 0,
  };
}

/** Each process's share of the requests answered, in process order. */
export function processShares(sharing: RunSharing): Array<{ process: string; share: number }> {
  const entries = Object.entries(sharing.processes);
  const total = entries.reduce((a, [, p]) => a + p.requests, 0);
  return entries.map(([process, p]) => ({ process, share: total > 0 ? p.requests / total : 0 }));
}

/** after − before per key; a key whose counter went down restarted in between, so its whole `after` is the run's. */
function difference(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const result = new Map<string, number>();
  for (const [key, value] of after) {
    const was = before.get(key) ?? 0;
    result.set(key, value >= was ? value - was : value);
  }
  return result;
}

/** leader first, then front-1, front-2, … in numeric order. */
function byProcess(a: string, b: string): number {
  const rank = (p: string): number => (p === ONLY_PROCESS ? -1 : Number(/(\d+)$/.exec(p)?.[1] ?? Infinity));
  return rank(a) - rank(b) || a.localeCompare(b);
}
