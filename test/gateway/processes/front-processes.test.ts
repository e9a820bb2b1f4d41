// The leader's front processes, with real child processes running a small
// script in place of a gateway front: a mirror is sent when it changes, a
// front that dies is forked again, one that does not answer is left out of a
// metrics scrape, and close waits for every front (SIGKILL after the grace).

import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../../common/logger.ts';
import type { FleetMirror } from '../../../gateway/processes/fleet-mirror.ts';
import { FrontProcesses } from '../../../gateway/processes/front-processes.ts';
import { until } from '../../helpers/until.ts';

/** A front stand-in: says it serves and is ready, records mirrors, answers metrics (unless MUTE), ignores SIGTERM when STUBBORN. */
const FRONT_SCRIPT = `
const mirrors = [];
process.on('message', (m) => {
  if (m.kind === 'mirror') mirrors.push(m.mirror.models.length);
  if (m.kind === 'metrics' && !process.env.MUTE) process.send({ kind: 'metrics', id: m.id, process: 'front-' + process.env.INDEX, metrics: [{ name: 'mirrors_seen', help: 'h', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: mirrors.length }] }] });
  if (m.kind === 'purge') process.send({ kind: 'purged', id: m.id });
});
process.on('SIGTERM', () => { if (!process.env.STUBBORN) process.exit(0); });
process.send({ kind: 'serving' });
process.send({ kind: 'ready' });
`;

const mirror = (models: number): FleetMirror => ({ workers: [], models: Array.from({ length: models }, (_, i) => ({ name: `m${i}`, versions: [], config: {} })), unloading: [], stable: {}, fingerprints: {}, rollouts: {} });

function frontsOf(t: { testdir(): string; teardown(fn: () => unknown): void }, env: Record<string, string> = {}, count = 2) {
  const script = join(t.testdir(), 'front.cjs');
  writeFileSync(script, FRONT_SCRIPT);
  let current = mirror(1);
  let forks = 0;
  const fronts = new FrontProcesses({
    count,
    fork: (index) => {
      forks++;
      return fork(script, [], { env: { ...process.env, ...env, INDEX: String(index) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    },
    mirror: () => current,
    mirrorIntervalMs: 20,
    backoff: { initialMs: 10, maxMs: 100, stableMs: 60_000 },
    askTimeoutMs: 300,
    logger: silentLogger(),
  });
  t.teardown(() => fronts.close(100));
  return { fronts, setMirror: (m: FleetMirror) => (current = m), forks: () => forks };
}

t.test('fronts start, hear each new mirror once, answer a scrape, and are forked again when they die', async (t) => {
  const { fronts, setMirror, forks } = frontsOf(t);
  fronts.start();
  await fronts.whenReady();
  /** Front → how many mirrors it has heard. */
  const seen = async () => new Map((await fronts.metrics()).map((m) => [m.process, m.metrics[0]!.values[0]!.value]));
  // One mirror when each said it serves; the timer's first send is the same mirror, so it is not sent again.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const first = await seen();
  t.same([...first.keys()].sort(), ['front-1', 'front-2']);
  setMirror(mirror(2));
  t.ok(await until(async () => [...(await seen())].every(([front, n]) => n === first.get(front)! + 1), 2_000), 'a changed mirror reaches every front once');
  const counted = await seen();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(await seen(), counted, 'an unchanged mirror is not sent again');

  const [one] = fronts.pids;
  process.kill(one!.pid!, 'SIGKILL');
  t.ok(await until(() => fronts.pids[0]!.pid !== undefined && fronts.pids[0]!.pid !== one!.pid, 2_000), 'the dead front is forked again');
  t.equal(forks(), 3);
  t.ok(await until(async () => (await fronts.metrics()).length === 2, 2_000), 'the new front answers');
  await fronts.purge('m0', undefined);
});

t.test('a front that does not answer is left out of the scrape; close kills one that ignores SIGTERM after the grace', async (t) => {
  const { fronts } = frontsOf(t, { MUTE: '1', STUBBORN: '1' }, 1);
  fronts.start();
  await fronts.whenReady();
  const started = performance.now();
  t.same(await fronts.metrics(), [], 'no answer within the timeout: left out');
  t.ok(performance.now() - started < 2_000, 'the scrape waits no longer than the timeout');
  const pid = fronts.pids[0]!.pid!;
  const closing = performance.now();
  await fronts.close(200);
  t.ok(performance.now() - closing >= 150, 'close waited for the grace');
  t.throws(() => process.kill(pid, 0), 'then the front was killed');
  t.same(fronts.pids.map((p) => p.pid), [undefined], 'and not forked again');
});
