import t from 'tap';
import { placeModels, placementChanges } from '../../../gateway/supervisor/placement.ts';
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

t.test('a new placement changes only the workers it must', async (t) => {
  const before = placeModels([{ name: 'classifier', replicas: 2 }, { name: 'ranker', replicas: 1 }]);
  t.same(placementChanges(before, before), { start: [], stop: [], replace: [] }, 'the same placement changes nothing');
  t.same(placementChanges(before, placeModels([{ name: 'classifier', replicas: 3 }, { name: 'ranker', replicas: 1 }])), {
    start: [{ id: 'worker-2', models: ['classifier'] }],
    stop: [],
    replace: [],
  }, 'scaling a model up starts workers');
  t.same(placementChanges(before, placeModels([{ name: 'classifier', replicas: 1 }, { name: 'ranker', replicas: 1 }])), {
    start: [],
    stop: ['worker-1'],
    replace: [],
  }, 'scaling down stops the last workers');
  t.same(placementChanges(before, placeModels([{ name: 'classifier', replicas: 2 }, { name: 'ranker', replicas: 2 }])), {
    start: [],
    stop: [],
    replace: [{ id: 'worker-1', models: ['classifier', 'ranker'] }],
  }, 'a worker that must load another model is replaced');
  t.same(placementChanges([{ id: 'worker-0', models: ['a', 'b'] }], [{ id: 'worker-0', models: ['b', 'a'] }]).replace, [], 'model order does not matter');
});
