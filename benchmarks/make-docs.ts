#!/usr/bin/env node
// Generates docs/benchmarks.md from the committed results folders,
// benchmarks/results/committed/<name>/results.json. Never edit the output by
// hand: re-run a scenario into that folder, then regenerate.
//
//   npm run bench -- overhead --results benchmarks/results/committed --name overhead
//   node benchmarks/make-docs.ts            # rewrite docs/benchmarks.md (and each folder's report.md, charts)
//   node benchmarks/make-docs.ts --check    # exit 1 when docs/benchmarks.md is stale
//
// Highlights and charts are recomputed from the recorded data with the
// current scenario code, so a better chart reaches the docs without re-running.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeReport } from './lib/report-files.ts';
import { renderMarkdown } from './lib/report-markdown.ts';
import type { ScenarioReport } from './lib/results.ts';
import { loadScenario } from './lib/scenario.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ORDER = ['overhead', 'batching', 'protocols', 'capacity', 'concurrency', 'replicas', 'processes', 'access', 'chaos', 'scaling', 'rollout'];

const INTRO = `# Benchmarks

How much traffic infergate carries, measured by its own harness
(\`benchmarks/\`, \`npm run bench -- <scenario>\`; \`--help\` lists every option).
Every system under test runs as its own processes, never inside the load
generator; latencies come from HDR histograms (p50, p90, p99, p99.9, max).

- **Closed loop** (autocannon): each connection sends its next request when the
  previous answer arrives. It measures throughput at a concurrency, but a stalled
  server delays the requests that would have been sent, so the tail is hidden.
- **Open loop** (our undici generator): requests are due at a fixed rate and latency
  counts from each request's *intended* send time, as wrk2 does, so stalls and
  queueing show in the percentiles. Capacity searches use it.
- **Systems**: \`direct\` (one worker, binary frames), \`gateway\` (infergate over
  N workers, KServe v2 JSON), \`nginx\` (NGINX \`least_conn\` over the same N
  workers, KServe v2 JSON, when installed), \`hello\` (a trivial HTTP server: the
  load generator's own ceiling on the machine). The \`protocols\` scenario calls one
  gateway by KServe v2 REST JSON, REST with the binary tensor extension, and gRPC
  with raw contents (a grpc-js closed or open loop with the same accounting; N
  connections are N concurrent calls over ceil(N / 8) HTTP/2 connections). \`--gateway-processes 1,2\`
  (overhead, replicas) runs the gateway once per count of processes serving its
  port (\`gateway\`, \`gateway-2p\`), in interleaved rounds; the front processes'
  CPU counts as gateway. The \`processes\` scenario compares 1 and 2 processes
  with batching off and on, and from the gateway's \`/metrics\` how evenly each
  process's own balancing spreads requests over the workers, the rows per
  worker run, and each process's share of the requests. The \`access\` scenario
  compares the gateway open, with API keys (auth.mode keys, 1000 keys), and
  with a per-key rate limit that never refuses, its buckets in the process or
  in Redis: what the access check costs per request.
- **CPU per request** by process role comes from \`/proc\`; "other processes" is
  what the rest of the machine used meanwhile. Load generator and systems share
  the machine's cores, so compare ratios within one run, not numbers across machines.

A run fails (exit 1) when a system cannot start or its errors + non-2xx exceed
0.1% of requests; a failed or skipped system is named under its table.
`;

export async function makeDocs(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      check: { type: 'boolean', default: false },
      from: { type: 'string', default: join(ROOT, 'benchmarks', 'results', 'committed') },
      out: { type: 'string', default: join(ROOT, 'docs', 'benchmarks.md') },
    },
  });
  const from = values.from;
  const folders = existsSync(from) ? readdirSync(from).filter((d) => existsSync(join(from, d, 'results.json'))) : [];
  const rank = (name: string): number => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  const reports: { folder: string; report: ScenarioReport }[] = [];
  for (const folder of folders) {
    const report = JSON.parse(readFileSync(join(from, folder, 'results.json'), 'utf8')) as ScenarioReport;
    const scenario = await loadScenario(report.scenario);
    if (scenario) Object.assign(report, scenario.present(report));
    reports.push({ folder, report });
  }
  reports.sort((a, b) => rank(a.report.scenario) - rank(b.report.scenario) || a.folder.localeCompare(b.folder));

  const docsDir = join(values.out, '..');
  const sourceLabel = relative(ROOT, from) || '.';
  const sections = reports.map(({ folder, report }) => {
    const prefix = `${relative(docsDir, join(from, folder))}/`;
    return `${renderMarkdown(report, { headingLevel: 2, chartPrefix: prefix })}\nRaw data: [\`${relative(ROOT, join(from, folder))}/results.json\`](${prefix}results.json)\n`;
  });
  const contents = reports.map(({ report }) => `- [${report.title}](#${anchor(report.title)})`);
  const text = [
    `<!-- Generated by benchmarks/make-docs.ts from ${sourceLabel}/*/results.json. Do not edit by hand: re-run a scenario with --results ${sourceLabel} --name <scenario>, then run node benchmarks/make-docs.ts. -->`,
    '',
    INTRO,
    reports.length > 0 ? `## Contents\n\n${contents.join('\n')}\n` : `No committed results yet: run a scenario with \`--results ${sourceLabel} --name <scenario>\`.\n`,
    ...sections,
  ].join('\n');

  if (values.check) {
    const current = existsSync(values.out) ? readFileSync(values.out, 'utf8') : '';
    if (current !== text) {
      process.stderr.write(`${relative(ROOT, values.out)} is stale: run node benchmarks/make-docs.ts\n`);
      return 1;
    }
    return 0;
  }
  for (const { folder, report } of reports) writeReport(join(from, folder), report);
  writeFileSync(values.out, text);
  process.stdout.write(`wrote ${relative(ROOT, values.out)} from ${reports.length} result folder(s) in ${sourceLabel}\n`);
  return 0;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

if (import.meta.main) process.exit(await makeDocs(process.argv.slice(2)));
