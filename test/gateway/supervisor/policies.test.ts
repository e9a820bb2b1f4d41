import t from 'tap';
import { placeModels } from '../../../gateway/supervisor/placement.ts';
import { crashesAfterExit, restartDelayMs } from '../../../gateway/supervisor/restart-backoff.ts';

t.test('placement gives each model exactly its replica count', async (t) => {
  t.same(placeModels([]), []);
  t.same(placeModels([{ name: 'a', replicas: 2 }, { name: 'b', replicas: 2 }]), [
    { id: 'worker-0', models: ['a', 'b'] },
    { id: 'worker-1', models: ['a', 'b'] },
  ]);
  t.same(placeModels([{ name: 'classifier', replicas: 3 }, { name: 'heavy', replicas: 1 }, { name: 'ranker', replicas: 2 }]), [
    { id: 'worker-0', models: ['classifier', 'heavy', 'ranker'] },
    { id: 'worker-1', models: ['classifier', 'ranker'] },
    { id: 'worker-2', models: ['classifier'] },
  ]);
});

t.test('restart delay doubles per consecutive crash up to the cap', async (t) => {
  const policy = { initialMs: 100, maxMs: 1000, stableMs: 5000 };
  const table: Array<[number, number]> = [[0, 100], [1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [60, 1000]];
  for (const [crashes, delay] of table) t.equal(restartDelayMs(crashes, policy), delay, `${crashes} crashes`);
});

t.test('a worker that was stable before crashing starts the count again', async (t) => {
  const policy = { initialMs: 100, maxMs: 1000, stableMs: 5000 };
  const table: Array<[number, number | null, number]> = [
    [0, null, 1], // crashed before ever being ready
    [3, null, 4],
    [3, 200, 4], // ready only briefly: still a crash loop
    [3, 5000, 1], // ready long enough: a fresh start
    [7, 60_000, 1],
  ];
  for (const [previous, readyFor, expected] of table) t.equal(crashesAfterExit(previous, readyFor, policy), expected, `${previous} crashes, ready for ${readyFor}`);
});
