// A run's work by worker and by gateway process, from two scrapes of the
// gateway's exposition (shaped as a real two-process gateway answers): the
// counters' differences, for the run's model only; a counter that went down
// (its process restarted) counts whole.

import t from 'tap';
import { parsePrometheusText, sumBy } from '../../benchmarks/lib/prometheus-text.ts';
import { balance, processShares, sharingBetween } from '../../benchmarks/lib/work-sharing.ts';

const exposition = (w0: number, w1: number, runs0: number, runs1: number, leader: number, front: number, other = 0): string => `# HELP infergate_worker_runs_total Frames the worker ran, by outcome (ok or error).
# TYPE infergate_worker_runs_total counter
infergate_worker_runs_total{model="classifier",version="2",outcome="ok",replica="worker-0"} ${runs0}
infergate_worker_runs_total{model="classifier",version="2",outcome="error",replica="worker-0"} 3
infergate_worker_runs_total{model="classifier",version="2",outcome="ok",replica="worker-1"} ${runs1}
infergate_worker_runs_total{model="heavy",version="1",outcome="ok",replica="worker-2"} ${other}
infergate_worker_batch_rows_bucket{model="classifier",version="2",replica="worker-0",le="+Inf"} ${runs0}
infergate_worker_batch_rows_sum{model="classifier",version="2",replica="worker-0"} ${w0}
infergate_worker_batch_rows_sum{model="classifier",version="2",replica="worker-1"} ${w1}
infergate_worker_batch_rows_sum{model="heavy",version="1",replica="worker-2"} ${other}
infergate_requests_total{model="classifier",version="2",protocol="rest",status_class="2xx",code="",process="leader"} ${leader}
infergate_requests_total{model="classifier",version="2",protocol="rest",status_class="5xx",code="GW_ERR_X",process="front-1"} 1
infergate_requests_total{model="classifier",version="2",protocol="rest",status_class="2xx",code="",process="front-1"} ${front - 1}
infergate_batch_size_rows_sum{model="classifier",version="2",process="leader"} ${leader}
infergate_batch_size_rows_count{model="classifier",version="2",process="leader"} ${Math.round(leader / 2)}
infergate_batch_size_rows_sum{model="classifier",version="2",process="front-1"} ${front}
infergate_batch_size_rows_count{model="classifier",version="2",process="front-1"} ${Math.round(front / 2)}
`;

t.test('the exposition parses into samples, escaped label values included', async (t) => {
  const samples = parsePrometheusText('# TYPE x counter\nx{a="q\\"uote",b="back\\\\slash"} 2.5 1700000000\ny +Inf\nz{le="+Inf"} 7\n');
  t.same(samples, [
    { name: 'x', labels: { a: 'q"uote', b: 'back\\slash' }, value: 2.5 },
    { name: 'y', labels: {}, value: Infinity },
    { name: 'z', labels: { le: '+Inf' }, value: 7 },
  ]);
  t.same([...sumBy(samples, 'x', (l) => l.a ?? '')], [['q"uote', 2.5]]);
});

t.test('a run between two scrapes: rows and runs by worker, requests and batches by process', async (t) => {
  const before = parsePrometheusText(exposition(100, 100, 100, 100, 50, 150, 9));
  const after = parsePrometheusText(exposition(700, 500, 400, 300, 350, 950, 99));
  const sharing = sharingBetween(before, after, 'classifier');
  t.same(sharing.workers, { 'worker-0': { rows: 600, runs: 300 }, 'worker-1': { rows: 400, runs: 200 } }, 'the other model and failed runs left out');
  t.same(sharing.processes, { leader: { requests: 300, batches: 150, batchRows: 300 }, 'front-1': { requests: 800, batches: 400, batchRows: 800 } }, 'every outcome counted');
  t.equal(sharing.rowsMaxMin, 1.5);
  t.equal(sharing.rowsCv, 0.2, 'standard deviation 100 over a mean of 500');
  t.equal(sharing.rowsPerRun, 2);
  t.same(processShares(sharing).map((s) => [s.process, Number(s.share.toFixed(4))]), [['leader', 0.2727], ['front-1', 0.7273]]);
});

t.test('one process: samples without a process label belong to the leader; a restarted worker counts whole', async (t) => {
  const one = (rows: number, requests: number): string =>
    `infergate_worker_batch_rows_sum{model="m",replica="worker-0"} ${rows}\ninfergate_worker_runs_total{model="m",outcome="ok",replica="worker-0"} ${rows}\ninfergate_requests_total{model="m",status_class="2xx"} ${requests}\n`;
  const sharing = sharingBetween(parsePrometheusText(one(500, 500)), parsePrometheusText(one(40, 540)), 'm');
  t.same(sharing.workers, { 'worker-0': { rows: 40, runs: 40 } });
  t.same(Object.keys(sharing.processes), ['leader']);
  t.equal(sharing.processes.leader!.requests, 40);
});

t.test('balance over the workers', async (t) => {
  const cases = [
    { workers: [{ rows: 10, runs: 10 }, { rows: 10, runs: 10 }], expected: { rowsMaxMin: 1, rowsCv: 0, rowsPerRun: 1 } },
    { workers: [{ rows: 30, runs: 10 }, { rows: 10, runs: 10 }], expected: { rowsMaxMin: 3, rowsCv: 0.5, rowsPerRun: 2 } },
    { workers: [{ rows: 10, runs: 5 }, { rows: 0, runs: 0 }], expected: { rowsMaxMin: null, rowsCv: 1, rowsPerRun: 2 } },
    { workers: [], expected: { rowsMaxMin: null, rowsCv: 0, rowsPerRun: 0 } },
  ];
  for (const c of cases) t.same(balance(c.workers), c.expected, JSON.stringify(c.workers));
});
