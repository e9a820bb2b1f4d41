import t from 'tap';
import { compareOutputs, parseExpectedOutputs, type ActualOutput } from '../../../common/onnx/compare-outputs.ts';

const actual: ActualOutput[] = [
  { name: 'probabilities', shape: [2, 3], data: [0.1, 0.2, 0.7, 0.3, 0.3, 'NaN'] },
  { name: 'labels', shape: [2], data: ['cat', 'dog'] },
  { name: 'mask', shape: [2], data: [true, false] },
];

t.test('outputs compared element by element within an absolute tolerance', async (t) => {
  const rows: Array<{ label: string; expected: unknown; tolerance?: number; failure: string | null; maxAbsError?: Array<number | null> }> = [
    { label: 'equal, NaN to NaN', expected: { outputs: [{ name: 'probabilities', shape: [2, 3], data: [0.1, 0.2, 0.7, 0.3, 0.3, 'NaN'] }] }, failure: null, maxAbsError: [0] },
    { label: 'nested data, within tolerance', expected: { outputs: [{ name: 'probabilities', data: [[0.10005, 0.2, 0.7], [0.3, 0.3, 'NaN']] }] }, failure: null },
    {
      label: 'beyond tolerance',
      expected: { outputs: [{ name: 'probabilities', data: [0.1, 0.2, 0.7, 0.3, 0.31, 'NaN'] }] },
      failure: 'output "probabilities" differs at index 4 [1,1]: expected 0.31, got 0.3 (|error| 0.010000000000000009 > tolerance 0.0001)',
    },
    { label: 'a looser tolerance', expected: { outputs: [{ name: 'probabilities', data: [0.1, 0.2, 0.7, 0.3, 0.31, 'NaN'] }] }, tolerance: 0.05, failure: null },
    {
      label: 'NaN against a number',
      expected: { outputs: [{ name: 'probabilities', data: [0.1, 0.2, 0.7, 0.3, 0.3, 0] }] },
      failure: 'output "probabilities" differs at index 5 [1,2]: expected 0, got "NaN" (|error| Infinity > tolerance 0.0001)',
    },
    { label: 'another shape', expected: { outputs: [{ name: 'probabilities', shape: [3, 2], data: [0, 0, 0, 0, 0, 0] }] }, failure: 'output "probabilities" has shape [2,3], expected [3,2]' },
    { label: 'fewer elements', expected: { outputs: [{ name: 'probabilities', data: [0.1] }] }, failure: 'output "probabilities" has 6 elements, expected 1' },
    { label: 'an output the model lacks', expected: { outputs: [{ name: 'logits', data: [1] }] }, failure: 'output "logits" is not among the model\'s outputs (probabilities, labels, mask)' },
    { label: 'strings equal', expected: { outputs: [{ name: 'labels', data: ['cat', 'dog'] }] }, failure: null, maxAbsError: [null] },
    { label: 'strings differ', expected: { outputs: [{ name: 'labels', data: ['cat', 'cow'] }] }, failure: 'output "labels" differs at index 1 [1]: expected "cow", got "dog"' },
    { label: 'booleans as 1 and 0', expected: { outputs: [{ name: 'mask', data: [1, 0] }] }, failure: null },
    {
      label: 'the first failing output is named, every output is measured',
      expected: { outputs: [{ name: 'mask', data: [true, true] }, { name: 'probabilities', data: [0, 0.2, 0.7, 0.3, 0.3, 'NaN'] }] },
      failure: 'output "mask" differs at index 1 [1]: expected true, got false (|error| 1 > tolerance 0.0001)',
      maxAbsError: [1, 0.1],
    },
  ];
  for (const { label, expected, tolerance, failure, maxAbsError } of rows) {
    const comparison = compareOutputs(actual, parseExpectedOutputs(expected), tolerance ?? 1e-4);
    t.equal(comparison.failure, failure, label);
    if (maxAbsError) t.same(comparison.outputs.map((o) => o.maxAbsError), maxAbsError, `${label}: max |error|`);
  }
});

t.test('an expected-outputs document that is not one fails naming what is wrong', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [null, /want \{"outputs"/],
    [{ outputs: [] }, /at least one output/],
    [{ outputs: [{ data: [1] }] }, /outputs\[0\] has no name/],
    [{ outputs: [{ name: 'y', shape: [-1], data: [1] }] }, /output "y" has shape \[-1\], not a list of sizes/],
    [{ outputs: [{ name: 'y', data: 3 }] }, /output "y" has no data array/],
  ];
  for (const [document, message] of rows) t.throws(() => parseExpectedOutputs(document), { message }, JSON.stringify(document));
});

t.test('mismatches are counted per output', async (t) => {
  const comparison = compareOutputs(actual, parseExpectedOutputs({ outputs: [{ name: 'probabilities', data: [1, 1, 1, 0.3, 0.3, 'NaN'] }] }), 1e-4);
  t.same(comparison.outputs, [{ name: 'probabilities', elements: 6, maxAbsError: 0.9, mismatches: 3 }]);
});
