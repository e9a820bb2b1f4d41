// The report's accuracy tally on hand-made outputs: every figure worked out by hand.

import t from 'tap';
import { AccuracyTally, type OutputValues } from '../../../common/onnx/output-accuracy.ts';

const out = (name: string, datatype: string, shape: number[], data: unknown[]): OutputValues => ({ name, datatype, shape, data });

t.test('max and mean |error|, cosine similarity and the source scale, over every sample', async (t) => {
  const tally = new AccuracyTally();
  tally.add([out('score', 'FP32', [2], [3, 4])], [out('score', 'FP32', [2], [3, 4.5])]);
  tally.add([out('score', 'FP32', [2], [0, -1])], [out('score', 'FP32', [2], [0.25, -1])]);
  const [score] = tally.result();
  t.equal(score!.elements, 4);
  t.equal(score!.maxAbsError, 0.5);
  t.equal(score!.meanAbsError, 0.75 / 4);
  t.equal(score!.sourceMaxAbs, 4);
  // source (3, 4, 0, −1), new (3, 4.5, 0.25, −1): dot 28, |s| √26, |n| √(30.3125)
  t.ok(Math.abs(score!.cosineSimilarity! - 28 / Math.sqrt(26 * 30.3125)) < 1e-12, `${score!.cosineSimilarity}`);
  t.equal(score!.top1, null, 'rank 1: not classifier-like');
  t.equal(score!.mismatches, 0);
});

t.test('top-1 agreement row by row for rank-2 float outputs; the first of equal maxima wins; NaN never does', async (t) => {
  const tally = new AccuracyTally();
  const source = [0.1, 0.9, 0.5, 0.5, 'NaN', 0.2];
  const made = [0.2, 0.8, 0.4, 0.6, 0.3, 0.2];
  tally.add([out('p', 'FP32', [3, 2], source)], [out('p', 'FP32', [3, 2], made)]);
  const [p] = tally.result();
  // Row 0: 1 and 1 agree. Row 1: 0 (first of equals) and 1 differ. Row 2: source's NaN loses, so 1; new 0 (equal 0.3 > 0.2).
  t.same(p!.top1, { rows: 3, agreeing: 1 });
  t.equal(p!.maxAbsError, Infinity, 'NaN on one side only');
  t.equal(p!.cosineSimilarity! > 0.9, true, 'the NaN pair is left out of the cosine');
  const ints = new AccuracyTally();
  ints.add([out('ids', 'INT64', [1, 2], [1, 2])], [out('ids', 'INT64', [1, 2], [1, 2])]);
  t.equal(ints.result()[0]!.top1, null, 'integers are not classifier scores');
});

t.test('both zero is cosine 1, one zero is 0; NaN on both sides agrees; booleans count as 0 and 1', async (t) => {
  const tally = new AccuracyTally();
  tally.add(
    [out('zeros', 'FP32', [2], [0, 0]), out('half', 'FP32', [2], [0, 0]), out('nan', 'FP32', [1], ['NaN']), out('flag', 'BOOL', [2], [true, false])],
    [out('zeros', 'FP32', [2], [0, 0]), out('half', 'FP32', [2], [1, 0]), out('nan', 'FP32', [1], ['NaN']), out('flag', 'BOOL', [2], [true, true])],
  );
  const [zeros, half, nan, flag] = tally.result();
  t.equal(zeros!.cosineSimilarity, 1);
  t.equal(half!.cosineSimilarity, 0);
  t.equal(nan!.maxAbsError, 0);
  t.equal(nan!.cosineSimilarity, null, 'no finite pair');
  t.equal(flag!.maxAbsError, 1);
  t.equal(flag!.meanAbsError, 0.5);
});

t.test('BYTES elements that differ, and outputs missing or resized, are mismatches', async (t) => {
  const tally = new AccuracyTally();
  tally.add(
    [out('text', 'BYTES', [2], ['a', 'b']), out('gone', 'FP32', [2], [1, 2]), out('resized', 'FP32', [2], [1, 2])],
    [out('text', 'BYTES', [2], ['a', 'c']), out('resized', 'FP32', [3], [1, 2, 3])],
  );
  const [text, gone, resized] = tally.result();
  t.match(text, { name: 'text', elements: 2, maxAbsError: null, meanAbsError: null, cosineSimilarity: null, mismatches: 1 });
  t.match(gone, { elements: 2, mismatches: 2, maxAbsError: null });
  t.match(resized, { elements: 2, mismatches: 2 });
});
