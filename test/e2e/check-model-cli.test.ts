// `infergate check-model` as users run it, in its own process: exit code 0
// and PASS for a good model; 1 with the reason on one line (on stderr and
// ending the report) for a bad one; --json the same report as one object.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { CheckReport } from '../../common/onnx/check-report.ts';
import { writeCheckModelFiles } from '../helpers/check-model-fixtures.ts';
import { runInfergate } from '../helpers/run-infergate.ts';

const checkModel = (args: string[]) => runInfergate(['check-model', ...args]);

const dir = t.testdir({});
const files = await writeCheckModelFiles(dir);
const classifier = files.demo.find((m) => m.label === 'classifier/1')!.path;

t.test('a demo model passes: exit 0, the report ends with PASS, nothing on stderr', async (t) => {
  const { code, stdout, stderr } = await checkModel([classifier]);
  t.equal(code, 0);
  t.equal(stderr, '');
  t.match(stdout, /^.*classifier\/1\/model\.onnx \(67\.8 KiB\)\n {2}IR version 8/);
  t.match(stdout, /\n {4}input FP32 \[batch, 64\]\n/);
  t.match(stdout, /operators \(3 types, 6 nodes\): Gemm ×3, Relu ×2, Softmax ×1\n/);
  t.match(stdout, /\nPASS\n$/);
});

t.test('a bad model or output: exit 1, the same one-line reason on stderr and ending the report', async (t) => {
  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, JSON.stringify({ outputs: [{ name: 'probabilities', data: new Array(10).fill(0.1) }] }));
  const rows: Array<[string, string[], RegExp]> = [
    ['truncated', [files.truncated], /^not an ONNX model: the file ends early/],
    ['an operator without a schema', [files.noSuchOp], /^onnxruntime cannot load it: operator NoSuchOp \(ai\.onnx opset 17, node "NoSuchOp_y"\) is not supported/],
    ['an operator without a kernel', [files.reluInt16], /^onnxruntime cannot load it: operator Relu \(ai\.onnx opset 14, node "Relu_y"\) is not supported/],
    ['a wrong expected output', [classifier, '--expected', wrong], /^output "probabilities" differs at index 0 \[0,0\]: expected 0\.1, got /],
  ];
  for (const [label, args, reason] of rows) {
    const { code, stdout, stderr } = await checkModel(args);
    t.equal(code, 1, `${label}: exit 1`);
    t.match(stderr, /^infergate check-model: [^\n]+\n$/, `${label}: one line on stderr`);
    const line = stderr.slice('infergate check-model: '.length, -1);
    t.match(line, reason, label);
    t.ok(stdout.endsWith(`\nFAIL: ${line}\n`), `${label}: the report ends with the same reason`);
  }
});

t.test('--json prints the same report as one JSON object', async (t) => {
  for (const [path, ok] of [
    [classifier, true],
    [files.noSuchOp, false],
  ] as const) {
    const text = await checkModel([path]);
    const json = await checkModel([path, '--json']);
    t.equal(json.code, text.code);
    t.equal(json.stdout.trimEnd().split('\n').length, 1, 'one line');
    const report = JSON.parse(json.stdout) as CheckReport;
    t.equal(report.ok, ok);
    t.equal(report.file, path);
    t.equal(report.model?.irVersion, 8);
    t.same(report.model?.opsets, [{ domain: 'ai.onnx', version: 17 }]);
    t.ok(text.stdout.includes(ok ? '\nPASS\n' : `\nFAIL: ${report.reason}\n`), 'the text carries the same verdict and reason');
    for (const input of report.model?.inputs ?? []) t.ok(text.stdout.includes(`    ${input.name} ${input.datatype} [${input.shape?.join(', ')}]`), `input ${input.name} in both`);
    for (const op of report.model?.operators ?? []) t.ok(text.stdout.includes(`${op.opType} ×${op.count}`), `${op.opType} in both`);
    if (!ok) t.same(report.load?.unsupportedOperators.map((o) => o.opType), ['NoSuchOp']);
  }
});

t.test('a command-line mistake exits 2 with the usage', async (t) => {
  for (const args of [[], [classifier, '--tolerance', 'tiny'], [classifier, '--frobnicate']]) {
    const { code, stderr } = await checkModel(args);
    t.equal(code, 2, JSON.stringify(args));
    t.match(stderr, /usage: infergate check-model PATH/);
  }
});
