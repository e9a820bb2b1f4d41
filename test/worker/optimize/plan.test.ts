// optimize's pure decisions: the new version's number, optimization.json's
// content (fixed key order, nothing that changes between runs) and the
// operator-change note.

import t from 'tap';
import { chooseOutputVersion, operatorChange, optimizationRecord, renderRecord, type RecordInput } from '../../../worker/optimize/plan.ts';

t.test('the new version: one above the highest present, or the one asked for if no directory has it', async (t) => {
  const rows: Array<[string, string[], string | undefined, { version: string } | RegExp]> = [
    ['one version', ['1'], undefined, { version: '2' }],
    ['numeric order, not text order', ['2', '9', '10'], undefined, { version: '11' }],
    ['unsorted input', ['7', '3'], undefined, { version: '8' }],
    ['beyond 2^53, exactly', ['9007199254740993'], undefined, { version: '9007199254740994' }],
    ['asked for a free one', ['1', '2'], '5', { version: '5' }],
    ['asked for a gap below the highest', ['1', '3'], '2', { version: '2' }],
    ['asked for an existing one', ['1', '2'], '2', /^--out-version 2: m has a version 2 already, and optimize never overwrites one$/],
    ['asked for a non-version', ['1'], '02', /^--out-version "02" is not a version/],
    ['asked for zero', ['1'], '0', /^--out-version "0" is not a version/],
  ];
  for (const [label, present, requested, want] of rows) {
    const got = chooseOutputVersion('m', present, requested);
    if (want instanceof RegExp) t.match('reason' in got ? got.reason : '', want, label);
    else t.same(got, want, label);
  }
});

const input: RecordInput = {
  model: 'heavy',
  mode: 'graph',
  options: { intraOpNumThreads: 1, graphOptimizationLevel: 'extended' },
  runtimeVersion: '1.30.0',
  source: { version: '1', sha256: 'a'.repeat(64), bytes: 100 },
  output: { version: '2', sha256: 'b'.repeat(64), bytes: 120 },
  verification: { samples: ['s1', 's2'], tolerance: { abs: 1e-5 }, maxAbsError: { z: 0, a: 1e-7 }, maxErrorOfOutputRange: { z: 0, a: 1e-6 } },
  notes: ['operators: Gemm ×3 → Gemm ×1'],
};

t.test('the record names source, mode, runtime, options, digests and sizes, in a fixed order', async (t) => {
  const record = optimizationRecord(input);
  t.same(Object.keys(record), ['model', 'version', 'madeBy', 'mode', 'options', 'runtime', 'source', 'output', 'verification', 'notes']);
  t.same(record.source, { version: '1', file: 'model.onnx', sha256: 'a'.repeat(64), bytes: 100 });
  t.same(record.output, { file: 'model.onnx', sha256: 'b'.repeat(64), bytes: 120 });
  t.same(record.runtime, { 'onnxruntime-node': '1.30.0' });
  t.same(Object.keys(record.options as object), ['graphOptimizationLevel', 'intraOpNumThreads'], 'options sorted by name');
  t.same(Object.keys((record.verification as { maxAbsError: object }).maxAbsError), ['a', 'z'], 'outputs sorted by name');
});

t.test('the same input renders the same bytes, with no time or host in them', async (t) => {
  const text = renderRecord(optimizationRecord(input));
  const reordered = renderRecord(optimizationRecord({ ...input, options: { graphOptimizationLevel: 'extended', intraOpNumThreads: 1 } }));
  t.equal(text, reordered);
  t.ok(text.endsWith('}\n'));
  t.notMatch(text, /\d{4}-\d\d-\d\dT|"(?:created\w*|\w*timestamp|date|host\w*|pid|durationMs)"/i);
});

t.test('the operator-change note lists what went and what came, or nothing when nothing changed', async (t) => {
  const use = (opType: string, count: number, domain = '') => ({ domain, opType, count });
  t.equal(
    operatorChange([use('Gemm', 3), use('Relu', 2), use('Softmax', 1)], [use('Gemm', 1), use('FusedGemm', 2, 'com.microsoft'), use('Softmax', 1)]),
    'operators: Gemm ×3, Relu ×2 → Gemm ×1, com.microsoft.FusedGemm ×2',
  );
  t.equal(operatorChange([use('Add', 1, 'ai.onnx')], [use('Add', 1)]), null, 'the default domain under either name');
  t.equal(operatorChange([use('Identity', 1)], []), 'operators: Identity ×1 → none');
});
