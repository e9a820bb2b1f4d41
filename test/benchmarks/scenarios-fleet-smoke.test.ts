// The scenarios that run several gateway processes, replica counts or
// protocols, end to end through the CLI with tiny durations (the others are
// scenarios-smoke.test.ts's): each exits 0 and writes a valid report. A file
// of their own keeps each file well inside the per-file timeout.

import t from 'tap';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const tiny = ['--duration', '0.3', '--warmup', '0', '--quiet'];
const SCENARIOS: SmokeCase[] = [
  {
    // One gateway per model with gRPC on a free port; REST JSON, REST binary and gRPC against it in one round.
    name: 'protocols',
    args: ['--rounds', '1', '--connections', '2', ...tiny],
    expect: (t, r) => {
      const protocols = ['REST JSON', 'REST binary', 'gRPC raw'];
      t.same(r.runs.map((x) => [x.model, x.system, x.body.format, x.round]).sort(), ['classifier', 'heavy'].flatMap((m) => protocols.map((p, i) => [m, `${m} ${p}`, ['json', 'kserve-binary', 'grpc-raw'][i], 1])).sort(), 'every protocol against each model');
      t.ok(r.runs.every((x) => x.summary.non2xx === 0 && x.summary.errors === 0), 'no failed request');
      t.ok(r.runs.every((x) => x.cpu === undefined || x.cpu.usPerRequest.gateway !== undefined), 'gateway CPU per request recorded');
      for (const model of ['classifier', 'heavy']) t.ok(r.highlights.some((h) => h.startsWith(`**${model}, 2 conn**`) && h.includes('gRPC raw/REST JSON req/s') && h.includes('REST binary/REST JSON req/s')), `${model}: both ratios`);
      t.ok(r.sections?.some((x) => x.includes('Paired ratios to REST JSON')), 'the paired ratios table');
    },
  },
  {
    name: 'replicas',
    args: ['--systems', 'gateway', '--replica-counts', '1,2', '--connections', '2', ...tiny],
    expect: (t, r) => t.same(r.runs.map((x) => x.replicas), [1, 2]),
  },
  {
    // Two gateways at once, one with a front process: the ×2 label, the count recorded, the pair compared.
    name: 'overhead',
    folder: 'overhead-processes',
    args: ['--systems', 'gateway', '--gateway-processes', '1,2', '--rounds', '1', '--replicas', '1', '--connections', '2', ...tiny],
    expect: (t, r) => {
      t.same(r.runs.map((x) => [x.system, x.processes, x.round]), [['gateway', 1, 1], ['gateway-2p', 2, 1]]);
      t.ok(r.highlights.some((h) => h.includes('gateway-2p/gateway req/s')), 'a gateway-2p/gateway ratio');
    },
  },
  {
    // Four gateways at once (1 and 2 processes, batching off and on), each run between two scrapes of GET /metrics.
    name: 'processes',
    args: ['--rounds', '1', '--connections', '4', ...tiny],
    expect: (t, r) => {
      t.same(r.runs.map((x) => [x.system, x.processes, x.round]), [
        ['gateway batching off', 1, 1],
        ['gateway-2p batching off', 2, 1],
        ['gateway batching on', 1, 1],
        ['gateway-2p batching on', 2, 1],
      ]);
      for (const run of r.runs) {
        const s = run.sharing;
        t.same(Object.keys(s?.workers ?? {}), ['worker-0', 'worker-1'], `${run.system}: both workers counted`);
        const rows = Object.values(s?.workers ?? {}).reduce((a, w) => a + w.rows, 0);
        const requests = Object.values(s?.processes ?? {}).reduce((a, p) => a + p.requests, 0);
        t.ok(rows >= run.summary.ok && requests >= run.summary.ok, `${run.system}: every answer was run and counted (${rows} rows, ${requests} requests, ${run.summary.ok} ok)`);
        t.ok(Object.keys(s?.processes ?? {}).every((p) => (run.processes === 1 ? ['leader'] : ['leader', 'front-1']).includes(p)), `${run.system}: requests by its processes`);
        if (run.system.endsWith('batching off')) t.equal(s?.rowsPerRun, 1, `${run.system}: one row per run`);
      }
      t.ok(r.highlights.some((h) => h.includes('gateway-2p batching on vs gateway batching on')), 'the two-process gateway compared with one');
      t.ok(r.sections?.some((x) => x.includes('Medians of the rounds')), 'the medians table');
    },
  },
];

const dirs = smokeWorkspace(t);

for (const scenario of SCENARIOS) {
  t.test(`scenario ${scenario.folder ?? scenario.name} writes a valid report`, (t) => smokeScenario(t, scenario, dirs));
}
