// The next scaling step of a model, from the fleet as it is: up by loading
// into running workers first, then new processes up to the cap; down by
// releasing replicas that are not ready, then workers with nothing else,
// newest first; never more than a step at once.

import t from 'tap';
import { nextScaleStep, NO_STEP, type WorkerView } from '../../../gateway/scaling/scale-plan.ts';

const w = (id: string, models: string[], ready = true): WorkerView => ({ id, models, ready });

t.test('up: running workers load the model first, then new processes, a step at a time', async (t) => {
  const fleet = [w('worker-0', ['m', 'x']), w('worker-1', ['x']), w('worker-2', ['x'], false)];
  t.same(nextScaleStep('m', 2, fleet, 2, 16), { load: ['worker-1'], spawn: [], release: [] }, 'a ready worker without the model loads it');
  t.same(nextScaleStep('m', 4, fleet, 2, 16), { load: ['worker-1'], spawn: ['worker-3'], release: [] }, 'then a new process; a starting worker is not loaded into');
  t.same(nextScaleStep('m', 6, fleet, 2, 16), { load: ['worker-1'], spawn: ['worker-3'], release: [] }, 'at most maxStepReplicas per step');
  t.same(nextScaleStep('m', 3, [w('worker-0', ['m']), w('worker-2', ['m'])], 3, 16), { load: [], spawn: ['worker-1'], release: [] }, 'new ids fill the gaps');
});

t.test('up: the worker cap stops it short, and says so', async (t) => {
  const fleet = [w('worker-0', ['m']), w('worker-1', ['m'])];
  const step = nextScaleStep('m', 4, fleet, 4, 3);
  t.same([step.load, step.spawn], [[], ['worker-2']]);
  t.match(step.shortBy, /1 replica short: scaling.maxWorkers \(3\)/);
  t.match(nextScaleStep('m', 3, [...fleet, w('worker-2', ['x'], false)], 4, 3).shortBy, /1 replica short/, 'at the cap with nothing to load into');
});

t.test('down: not ready first, then workers with no other model, newest first', async (t) => {
  const fleet = [w('worker-0', ['m', 'x']), w('worker-1', ['m']), w('worker-2', ['m', 'x']), w('worker-3', ['m']), w('worker-4', ['m', 'x'], false)];
  t.same(nextScaleStep('m', 4, fleet, 2, 16).release, ['worker-4'], 'the replica that is not ready');
  t.same(nextScaleStep('m', 2, fleet, 3, 16).release, ['worker-4', 'worker-3', 'worker-1'], 'then those that host only m, newest first');
  t.same(nextScaleStep('m', 0, fleet, 9, 16).release, ['worker-4', 'worker-3', 'worker-1', 'worker-2', 'worker-0'], 'then the rest, newest first');
  t.same(nextScaleStep('m', 1, fleet, 2, 16).release.length, 2, 'at most maxStepReplicas');
});

t.test('at the desired count there is no step', async (t) => {
  t.same(nextScaleStep('m', 1, [w('worker-0', ['m']), w('worker-1', ['x'])], 2, 16), NO_STEP);
  t.same(nextScaleStep('m', 0, [w('worker-0', ['x'])], 2, 16), NO_STEP);
});
