// The agreement gate's thresholds a report sets, from its accuracy figures.

import t from 'tap';
import type { OutputAccuracy } from '../../../common/onnx/output-accuracy.ts';
import { agreementThresholds } from '../../../worker/optimize/gate-thresholds.ts';

const output = (fields: Partial<OutputAccuracy>): OutputAccuracy => ({
  name: 'logits',
  elements: 100,
  maxAbsError: 0,
  meanAbsError: 0,
  sourceMaxAbs: 1,
  cosineSimilarity: 1,
  top1: null,
  mismatches: 0,
  ...fields,
});

t.test('maxAbsDiff: twice the largest error of any output, rounded up to three digits, at least 1e-5', async (t) => {
  t.match(agreementThresholds([output({ maxAbsError: 0.013215 }), output({ name: 'b', maxAbsError: 0.001 })]), { maxAbsDiff: 0.0265 });
  t.match(agreementThresholds([output({ maxAbsError: 0.005 })]), { maxAbsDiff: 0.01 }, 'an exact value is not rounded up a step');
  t.match(agreementThresholds([output({ maxAbsError: 0 })]), { maxAbsDiff: 1e-5 });
  t.match(agreementThresholds([output({ maxAbsError: null })]), { maxAbsDiff: 1e-5 }, 'BYTES outputs weigh nothing');
});

t.test('no classifier-like output: the plan’s defaults for the top-1 part, which reads nothing then', async (t) => {
  t.same(agreementThresholds([output({ maxAbsError: 1e-3 })]), { maxAbsDiff: 0.002, minArgmaxAgreement: 0.99, minComparisons: 20 });
});

t.test('top-1: the measured share less one point, and comparisons for three standard errors of that point', async (t) => {
  // p = 0.9946: 9 · 0.9946 · 0.0054 / 0.0001 = 483.4 → 484; 0.9846 → 0.984.
  t.same(agreementThresholds([output({ maxAbsError: 0.013215, top1: { rows: 10_000, agreeing: 9946 } })]), { maxAbsDiff: 0.0265, minArgmaxAgreement: 0.984, minComparisons: 484 });
  t.match(agreementThresholds([output({ top1: { rows: 500, agreeing: 500 } })]), { minArgmaxAgreement: 0.99, minComparisons: 20 }, 'full agreement: the floor of 20');
  t.match(agreementThresholds([output({ top1: { rows: 100, agreeing: 50 } })]), { minArgmaxAgreement: 0.49, minComparisons: 10_000 }, 'a coin toss: capped at 10,000');
  t.match(
    agreementThresholds([output({ top1: { rows: 100, agreeing: 99 } }), output({ name: 'b', top1: { rows: 100, agreeing: 97 } })]),
    { minArgmaxAgreement: 0.97 },
    'rows pooled over the classifier-like outputs (0.98 − 0.01)',
  );
});

t.test('an error no gate can hold gives a reason', async (t) => {
  t.same(agreementThresholds([output({ maxAbsError: Infinity })]), { reason: 'output "logits" differs beyond any bound (a non-finite error or a changed element): no agreement gate holds it' });
  t.match(agreementThresholds([output({ name: 'text', maxAbsError: null, mismatches: 1 })]), { reason: /^output "text" differs beyond any bound/ });
});
