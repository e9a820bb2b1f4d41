// server.processes: 2, as users run it: one leader (the workers, the model
// control) and one front on the same port. Under real load, both processes
// answer; an admin call that reaches either is the leader's, and both see its
// effect; a front killed with SIGKILL is replaced and serves again; SIGTERM
// to the leader drains both (every request each accepted is answered), and
// neither a front nor a worker outlives it.

import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import t from 'tap';
import { runClosedLoop, type Outcome } from '../helpers/closed-loop.ts';
import { CLASSIFIER_ONLY, isAlive, jsonLines, startGatewayProcess } from '../helpers/gateway-process.ts';
import { scrape, sumOf } from '../helpers/prometheus-text.ts';
import { until } from '../helpers/until.ts';

const INFER_PATH = '/v2/models/classifier/infer';
const SHUTDOWN_GRACE_MS = 10_000;
/** Connection-level failures of requests no process accepted (or a killed front had accepted). */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

const gateway = await startGatewayProcess(t, {
  replicas: 2,
  config: { ...CLASSIFIER_ONLY, server: { processes: 2, shutdownGraceMs: SHUTDOWN_GRACE_MS }, workers: { drainTimeoutMs: 5_000 }, logging: { format: 'json' } },
});

/** The leader's children that run `infergate gateway` (its fronts; its workers run worker/main.ts). */
function frontPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === gateway.handle.pid && cmdline.includes('gateway')) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Requests answered per process, from the leader's merged exposition (any process forwards /metrics to it). */
async function answeredBy(): Promise<{ leader: number; front: number }> {
  const samples = await scrape(gateway.origin);
  return { leader: sumOf(samples, 'infergate_requests_total', { process: 'leader' }), front: sumOf(samples, 'infergate_requests_total', { process: 'front-1' }) };
}

type Tally = { ok: number; shuttingDown: number; other: Map<string, number>; errors: Map<string, number> };

function tally(): Tally & { add(outcome: Outcome): 'continue' | 'stop' } {
  const counts: Tally = { ok: 0, shuttingDown: 0, other: new Map(), errors: new Map() };
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  return Object.assign(counts, {
    add(outcome: Outcome): 'continue' | 'stop' {
      if (outcome.kind === 'error') {
        bump(counts.errors, outcome.code);
        return outcome.code === 'ECONNREFUSED' ? 'stop' : 'continue';
      }
      const code = (JSON.parse(outcome.body.toString('utf8')) as { code?: string }).code;
      if (outcome.statusCode === 200) counts.ok++;
      else if (outcome.statusCode === 503 && code === 'GW_ERR_SHUTTING_DOWN') counts.shuttingDown++;
      else bump(counts.other, `${outcome.statusCode} ${code ?? ''}`);
      return 'continue';
    },
  });
}

function load(counts: ReturnType<typeof tally>, signal: AbortSignal): Promise<void> {
  const body = (): string => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, () => Math.fround(Math.random() * 2 - 1)) }] });
  // 16 connections: the kernel spreads connections over the two listeners by hash; all 16 on one would be a 1 in 32,768 event.
  return runClosedLoop({ origin: gateway.origin, path: INFER_PATH, headers: { 'content-type': 'application/json' }, body, concurrency: 16, onOutcome: (o) => counts.add(o), signal, timeoutMs: SHUTDOWN_GRACE_MS + 5_000 });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One request on a connection of its own (the kernel picks a listener per new connection); resolves with the status. */
function onNewConnection(method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.origin}${path}`, { method, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ONE_ROW = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, (_, i) => i / 64) }] });

t.test('both processes answer, and an admin call through either one is the leader\'s, seen by both', async (t) => {
  t.equal(frontPids().length, 1, 'one front process beside the leader');
  const counts = tally();
  const stop = new AbortController();
  const running = load(counts, stop.signal);
  await sleep(1_500);
  stop.abort();
  await running;
  const answered = await answeredBy();
  t.comment(`answered: leader ${answered.leader}, front ${answered.front}; client 200s ${counts.ok}`);
  t.ok(counts.ok > 0 && counts.other.size === 0 && counts.errors.size === 0, `every request got 200 (${counts.ok})`);
  t.ok(answered.leader > 0, 'the leader answered some');
  t.ok(answered.front > 0, 'the front answered some');
  t.equal(answered.leader + answered.front, counts.ok, 'the merged metrics count every answer once');
  const stats = (await (await fetch(`${gateway.origin}/v2/models/classifier/stats`)).json()) as { model_stats: Array<{ version: string; inference_stats: { success: { count: number } } }> };
  const successes = stats.model_stats.reduce((sum, s) => sum + s.inference_stats.success.count, 0);
  t.equal(successes, counts.ok, "Triton's statistics count both processes' requests");

  // Several connections, so that some land on each process: every one is answered by the leader's scale control.
  const ready = async (name: string) => sumOf(await scrape(gateway.origin), 'infergate_replicas', { state: 'ready', process: name });
  for (let i = 0; i < 4; i++) t.equal(await onNewConnection('PUT', '/admin/models/classifier/replicas', JSON.stringify({ replicas: 3 })), 202, `scale call ${i + 1} accepted`);
  t.ok(await until(async () => (await ready('leader')) === 3 && (await ready('front-1')) === 3, 30_000), 'both processes route to the third worker');
  const status = (await (await fetch(`${gateway.origin}/admin/models/classifier`)).json()) as { scaling: { desiredReplicas: number } };
  t.equal(status.scaling.desiredReplicas, 3, 'one scale control, whichever process was asked');
});

t.test('a front killed with SIGKILL is replaced and serves again', async (t) => {
  const [front] = frontPids();
  const before = await answeredBy();
  const counts = tally();
  const stop = new AbortController();
  const running = load(counts, stop.signal);
  await sleep(500);
  process.kill(front!, 'SIGKILL');
  t.ok(await until(() => frontPids().some((pid) => pid !== front), 10_000), 'a new front process runs');
  await sleep(500);
  stop.abort();
  await running;
  // The load's kept-alive connections moved to the leader when the front died; new connections reach the new
  // front too. It counts from zero: once it has answered some, it serves.
  const statuses: number[] = [];
  t.ok(
    await until(async () => {
      for (let i = 0; i < 8; i++) statuses.push(await onNewConnection('POST', INFER_PATH, ONE_ROW));
      return (await answeredBy()).front > 0;
    }, 30_000),
    'the new front answers requests on new connections',
  );
  t.ok(statuses.every((status) => status === 200), `every one of them got 200 (${statuses.length})`);
  t.comment(`front ${front} had answered ${before.front}; client: 200 ${counts.ok}, errors ${JSON.stringify(Object.fromEntries(counts.errors))}`);
  t.same(Object.fromEntries(counts.other), {}, 'no answer other than 200');
  t.same([...counts.errors.keys()].filter((code) => !CONNECTION_ERRORS.has(code)), [], 'only the killed front\'s connections failed');
});

t.test('SIGTERM to the leader drains both processes; nothing outlives it', async (t) => {
  const workerPids = await gateway.workerPids();
  const fronts = frontPids();
  t.equal(fronts.length, 1);
  const counts = tally();
  const running = load(counts, AbortSignal.timeout(SHUTDOWN_GRACE_MS * 2));
  await sleep(1_500);
  gateway.handle.child.kill('SIGTERM');
  const { code } = await gateway.exited;
  await running;
  const lines = jsonLines(gateway.stdout());
  const stopped = (name: string) => lines.find((line) => line.msg === `infergate ${name} stopped`) as Record<string, number> | undefined;
  const leader = stopped('gateway');
  const front = stopped('front-1');
  t.comment(`client: 200 ${counts.ok}, 503 ${counts.shuttingDown}, errors ${JSON.stringify(Object.fromEntries(counts.errors))}; leader ${JSON.stringify(leader)}; front ${JSON.stringify(front)}`);
  t.equal(code, 0, 'the leader exits 0');
  t.ok(front, 'the front drained and said so');
  t.ok(leader, 'the leader drained and said so');
  t.equal(front?.answered, front?.accepted, 'the front answered every request it accepted');
  t.equal(leader?.answered, leader?.accepted, 'the leader answered every request it accepted');
  t.same(Object.fromEntries(counts.other), {}, 'no answer other than 200 and 503 GW_ERR_SHUTTING_DOWN');
  t.same([...counts.errors.keys()].filter((c) => !CONNECTION_ERRORS.has(c)), [], 'client errors are only refused or reset connections');
  t.ok(await until(() => !fronts.some(isAlive) && !workerPids.some(isAlive), 5_000), 'no front and no worker outlives the leader');
});
