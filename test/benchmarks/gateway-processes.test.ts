// --gateway-processes: the system gateway once per process count, labelled
// gateway (one process) and gateway-Np, and each gateway-Np compared with
// gateway within each round.

import t from 'tap';
import { gatewayLabel, processesOfLabel, processHighlights, withGatewayProcesses } from '../../benchmarks/lib/gateway-processes.ts';
import type { RunRecord } from '../../benchmarks/lib/results.ts';

function run(system: string, round: number, rps: number, gatewayUs: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    system,
    replicas: 2,
    load: { mode: 'closed', connections: 16, pipelining: 1, durationS: 10 },
    body: { format: 'json', rows: 1, inputs: 'unique', bytesPerRequest: 900 },
    summary: {
      elapsedS: 10, responses: rps * 10, ok: rps * 10, non2xx: 0, errors: 0, responsesPerS: rps, bytesRead: 0, bytesPerS: 0,
      latency: { minMs: 0.1, meanMs: 1, p50Ms: 1, p90Ms: 2, p99Ms: 4, p999Ms: 8, maxMs: 9 },
      statusCodes: { '200': rps * 10 }, errorKinds: {}, errorRate: 0, timeline: [], histogram: '',
    },
    cpu: { seconds: 10, percentOfCore: { gateway: 50 }, usPerRequest: { gateway: gatewayUs } },
    round,
    ...extra,
  };
}

t.test('labels: gateway for one process, gateway-Np for more, and back', async (t) => {
  const table: [number, string][] = [[1, 'gateway'], [2, 'gateway-2p'], [12, 'gateway-12p']];
  for (const [processes, label] of table) {
    t.equal(gatewayLabel(processes), label);
    t.equal(processesOfLabel(label), processes);
  }
  for (const other of ['baseline', 'nginx', 'gateway batching on', 'gateway-p', 'gateway-2']) t.equal(processesOfLabel(other), null, other);
});

t.test('gateway is started once per process count, the other systems once', async (t) => {
  const settings = { replicas: 4 };
  t.same(withGatewayProcesses(['direct', 'gateway', 'hello'], [1, 2], settings), [
    ['direct', { replicas: 4 }],
    ['gateway', { replicas: 4, processes: 1, label: 'gateway' }],
    ['gateway', { replicas: 4, processes: 2, label: 'gateway-2p' }],
    ['hello', { replicas: 4 }],
  ]);
  t.same(withGatewayProcesses(['gateway'], [1], {}), [['gateway', { processes: 1, label: 'gateway' }]], 'one process: the plain gateway');
  t.same(withGatewayProcesses(['nginx'], [1, 2], {}), [['nginx', {}]], 'no gateway, nothing added');
});

t.test('each gateway-Np is paired with gateway by round', async (t) => {
  const runs = [
    run('gateway', 1, 1000, 100), run('gateway-2p', 1, 1500, 150),
    run('gateway-2p', 2, 1200, 140), run('gateway', 2, 1000, 120),
    run('gateway', 3, 900, 110), run('gateway-2p', 3, 1800, 160),
    run('gateway-2p', 4, 10, 1, { failure: 'errors' }),
  ];
  const highlights = processHighlights(runs, (r) => `${r.load.connections} connections`);
  t.same(highlights, [
    '**16 connections**: gateway-2p/gateway req/s 1500 vs 1000 (paired 1.50×, median of 3 rounds), gateway-process CPU 150 vs 110 µs/req',
    'gateway-2p is the gateway with 2 processes serving its port (server.processes; the front processes\' CPU counts as gateway, not workers)',
  ]);
  t.same(processHighlights(runs.filter((r) => r.system === 'gateway'), () => 'all'), [], 'one process count: nothing to compare');
  t.same(processHighlights(runs.filter((r) => r.system === 'gateway-2p'), () => 'all'), [], 'no one-process gateway to compare with');
});
