import t from 'tap';
import { formatBytes, renderCheckReport, type CheckReport } from '../../../common/onnx/check-report.ts';

const model: CheckReport['model'] = {
  irVersion: 8,
  producer: 'exporter 2.1',
  opsets: [
    { domain: 'ai.onnx', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ],
  inputs: [
    { name: 'tokens', kind: 'tensor', datatype: 'INT64', onnxType: 'INT64', shape: ['batch', null] },
    { name: 'scale', kind: 'tensor', datatype: null, onnxType: 'BFLOAT16', shape: [] },
  ],
  outputs: [{ name: 'states', kind: 'sequence', datatype: null, onnxType: 'sequence', shape: null }],
  operators: [
    { domain: 'ai.onnx', opType: 'MatMul', count: 4 },
    { domain: 'com.microsoft', opType: 'FusedGemm', count: 1 },
  ],
  initializers: { count: 2, totalBytes: 3 * 1024 * 1024, largest: [{ name: 'W', onnxType: 'FLOAT', shape: [1024, 768], bytes: 3 * 1024 * 1024, external: true }] },
};

const base: CheckReport = { file: 'm.onnx', fileBytes: 1536, sha256: 'ab', ok: true, reason: null, runtime: '1.30.0', model, load: null, run: null, comparison: null };

t.test('the text report: one section per stage reached, PASS or FAIL last', async (t) => {
  const failed: CheckReport = {
    ...base,
    ok: false,
    reason: 'onnxruntime cannot load it: operator FusedGemm (com.microsoft opset 1) is not supported',
    load: { ok: false, unsupportedOperators: [{ domain: 'com.microsoft', opType: 'FusedGemm', opsetVersion: 1, node: 'g1' }] },
  };
  t.equal(
    renderCheckReport(failed),
    [
      'm.onnx (1.5 KiB)',
      '  IR version 8, produced by exporter 2.1',
      '  opsets: ai.onnx 17, com.microsoft 1',
      '  inputs:',
      '    tokens INT64 [batch, ?]',
      '    scale BFLOAT16 (no KServe datatype) []',
      '  outputs:',
      '    states sequence (rank unknown)',
      '  operators (2 types, 5 nodes): MatMul ×4, com.microsoft:FusedGemm ×1',
      '  initializers: 2, 3.0 MiB; largest:',
      '    W FLOAT [1024,768] 3.0 MiB (external data)',
      '  onnxruntime-node 1.30.0: cannot load it; unsupported operators: com.microsoft:FusedGemm(1) in node "g1"',
      'FAIL: onnxruntime cannot load it: operator FusedGemm (com.microsoft opset 1) is not supported',
      '',
    ].join('\n'),
  );
  const passed: CheckReport = {
    ...base,
    load: { ok: true, unsupportedOperators: [] },
    run: { sample: 'sample r.json', ok: true, inputs: [{ name: 'tokens', datatype: 'INT64', shape: [1, 3] }], outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 2] }] },
    comparison: { toleranceAbs: 0.0001, failure: null, outputs: [{ name: 'logits', elements: 2, maxAbsError: 0.00002, mismatches: 0 }] },
  };
  t.match(
    renderCheckReport(passed),
    /onnxruntime-node 1\.30\.0: loads it\n {2}run: sample r\.json: tokens INT64 \[1,3\] → logits FP32 \[1,2\]\n {2}compared with expected outputs \(absolute tolerance 0\.0001\):\n {4}logits: 2 elements, max \|error\| 0\.00002\nPASS\n$/,
  );
  t.equal(renderCheckReport({ ...base, ok: false, reason: 'not an ONNX model: the file is empty', fileBytes: 0, model: null }), 'm.onnx (0 B)\nFAIL: not an ONNX model: the file is empty\n');
});

t.test('sizes in binary units', async (t) => {
  t.same([0, 1023, 1024, 1536, 1024 ** 2, 5.5 * 1024 ** 3].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '1.0 MiB', '5.5 GiB']);
});
