import t from 'tap';
import { batchAxesFor } from '../../../gateway/batching/batch-axes.ts';
import type { ModelSignature, TensorSpec } from '../../../common/wire.ts';

function model(name: string, inputs: TensorSpec[], outputs: TensorSpec[]): ModelSignature {
  return { name, version: '1', inputs, outputs, fingerprint: 'f' };
}

const classifier = model('classifier', [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }], [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }]);
const ranker = model(
  'ranker',
  [
    { name: 'query', datatype: 'FP32', shape: [-1, 16] },
    { name: 'ids', datatype: 'INT64', shape: [-1, 4] },
  ],
  [
    { name: 'embedding', datatype: 'FP32', shape: [-1, 16] },
    { name: 'score', datatype: 'FP32', shape: [-1, 1] },
  ],
);
const scalarInput = model('scalar', [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }, { name: 'temperature', datatype: 'FP32', shape: [] }], [{ name: 'y', datatype: 'FP32', shape: [-1, 8] }]);
const fixedFirst = model('fixed', [{ name: 'x', datatype: 'FP32', shape: [4, 8] }], [{ name: 'y', datatype: 'FP32', shape: [4, 8] }]);
const sequence = model('sequence', [{ name: 'tokens', datatype: 'FP32', shape: [8, -1, 16] }], [{ name: 'states', datatype: 'FP32', shape: [8, -1, 16] }, { name: 'pooled', datatype: 'FP32', shape: [-1, 16] }]);
const fixedOutput = model('fixed-output', [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }], [{ name: 'total', datatype: 'FP32', shape: [1] }]);

const entries = (map: ReadonlyMap<string, number>) => [...map];

t.test('models with a dynamic first dim everywhere batch on axis 0', async (t) => {
  const cases: Array<[ModelSignature, Record<string, number> | undefined, Array<[string, number]>, Array<[string, number]>]> = [
    [classifier, undefined, [['input', 0]], [['probabilities', 0]]],
    [ranker, undefined, [['query', 0], ['ids', 0]], [['embedding', 0], ['score', 0]]],
    [ranker, {}, [['query', 0], ['ids', 0]], [['embedding', 0], ['score', 0]]],
    // Configuring the default axis explicitly changes nothing.
    [ranker, { ids: 0, score: 0 }, [['query', 0], ['ids', 0]], [['embedding', 0], ['score', 0]]],
  ];
  for (const [signature, configured, inputs, outputs] of cases) {
    const result = batchAxesFor(signature, configured);
    t.ok(result.ok, `${signature.name} ${JSON.stringify(configured)}`);
    if (!result.ok) continue;
    t.same(entries(result.axes.inputs), inputs);
    t.same(entries(result.axes.outputs), outputs);
  }
});

t.test('a configured axis is used where the default rule cannot batch', async (t) => {
  const result = batchAxesFor(sequence, { tokens: 1, states: 1 });
  t.ok(result.ok);
  if (!result.ok) return;
  // 'pooled' is not configured and falls back to axis 0.
  t.same(entries(result.axes.inputs), [['tokens', 1]]);
  t.same(entries(result.axes.outputs), [['states', 1], ['pooled', 0]]);
});

t.test('unbatchable models say which tensor and why', async (t) => {
  const cases: Array<[string, ModelSignature, Record<string, number> | undefined, RegExp]> = [
    ['scalar input', scalarInput, undefined, /input "temperature" is a scalar/],
    ['fixed first dim', fixedFirst, undefined, /input "x" has shape \[4,8\]: its first dim is fixed at 4/],
    ['sequence model by default', sequence, undefined, /input "tokens" has shape \[8,-1,16\]: its first dim is fixed at 8/],
    ['sequence model, output axis not configured', sequence, { tokens: 1 }, /output "states" .* first dim is fixed at 8/],
    ['output with a fixed first dim', fixedOutput, undefined, /output "total" has shape \[1\]/],
    ['configured axis beyond the rank', sequence, { tokens: 3, states: 1 }, /input "tokens" has shape \[8,-1,16\], which has no axis 3/],
    ['configured negative axis', sequence, { tokens: -1, states: 1 }, /input "tokens" .* no axis -1/],
    ['configured fractional axis', sequence, { tokens: 1.5, states: 1 }, /input "tokens" .* no axis 1\.5/],
    ['configured fixed axis', sequence, { tokens: 2, states: 1 }, /input "tokens" .* configured batch axis 2 is fixed at 16/],
    ['configured axis on a scalar', scalarInput, { temperature: 0 }, /input "temperature" has shape \[\], which has no axis 0/],
    ['configured fixed axis on an output', classifier, { probabilities: 1 }, /output "probabilities" .* axis 1 is fixed at 10/],
    ['configured name the model lacks', classifier, { inputs: 0 }, /"inputs", which is neither an input nor an output/],
    ['no inputs', model('constant', [], [{ name: 'y', datatype: 'FP32', shape: [-1] }]), undefined, /has no inputs/],
  ];
  for (const [name, signature, configured, reason] of cases) {
    const result = batchAxesFor(signature, configured);
    t.notOk(result.ok, name);
    if (result.ok) continue;
    t.match(result.reason, reason, name);
    t.match(result.reason, new RegExp(`^model ${signature.name} version 1`), `${name}: names the model`);
  }
});
