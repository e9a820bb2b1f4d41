// optimize in this process over a temp repository of the demo models: what
// it writes, what it refuses (nothing written then), and the command line's
// exit codes. The CLI in its own process and a gateway serving the result
// are test/e2e/optimize-cli.test.ts.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeDemoModels } from '../../../scripts/demo-models/index.ts';
import { graphMode } from '../../../worker/optimize/graph-mode.ts';
import { optimizeModes, type OptimizeMode } from '../../../worker/optimize/modes.ts';
import { optimize, OptimizeError } from '../../../worker/optimize/optimize.ts';
import { runOptimize } from '../../../worker/optimize/optimize-cli.ts';

const repository = t.testdir({});
await writeDemoModels(repository);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

t.test('graph: a new version above the highest, its record matching the files, no temp left behind', async (t) => {
  const done = await optimize({ repository, model: 'classifier', version: '1', mode: 'graph' });
  t.equal(done.version, '3', 'classifier has 1 and 2');
  t.equal(done.modelPath, join(repository, 'classifier', '3', 'model.onnx'));
  const bytes = readFileSync(done.modelPath);
  const record = JSON.parse(readFileSync(done.recordPath, 'utf8'));
  t.match(record, {
    model: 'classifier',
    version: '3',
    mode: 'graph',
    options: { graphOptimizationLevel: 'extended', intraOpNumThreads: 1 },
    source: { version: '1', sha256: sha256(readFileSync(join(repository, 'classifier', '1', 'model.onnx'))) },
    output: { sha256: sha256(bytes), bytes: bytes.byteLength },
    verification: { tolerance: { abs: 1e-5 } },
  });
  t.ok(record.verification.maxAbsError.probabilities <= 1e-5);
  t.same(readdirSync(join(repository, 'classifier')).sort(), ['1', '2', '3', 'config.yaml']);
});

t.test('refusals name the field and leave the repository as it was', async (t) => {
  const rows: Array<[string, Parameters<typeof optimize>[0], RegExp]> = [
    ['no such model', { repository, model: 'nope', version: '1', mode: 'graph' }, /^MODEL "nope": not a model in /],
    ['no such version', { repository, model: 'heavy', version: '7', mode: 'graph' }, /^--version 7: heavy has no such version \(it has 1\)$/],
    ['an existing output version', { repository, model: 'classifier', version: '1', mode: 'graph', outVersion: '2' }, /^--out-version 2: classifier has a version 2 already/],
    ['no such mode', { repository, model: 'heavy', version: '1', mode: 'int3' }, /^--to int3: no such mode/],
  ];
  for (const [label, request, reason] of rows) {
    await t.rejects(optimize(request), { name: 'OptimizeError', message: reason }, label);
  }
  t.same(readdirSync(join(repository, 'heavy')), ['1']);
});

t.test('a mode that changes the answers beyond its tolerance is refused, with the element that differs', async (t) => {
  const other = new Uint8Array(readFileSync(join(repository, 'classifier', '2', 'model.onnx')));
  const modes: Record<string, OptimizeMode> = {
    wrong: { summary: 'answers as classifier 2', tolerance: { abs: 1e-5 }, options: {}, transform: async () => ({ bytes: other, notes: [] }) },
    junk: { summary: 'not a model', tolerance: { abs: 1e-5 }, options: {}, transform: async () => ({ bytes: new Uint8Array([1, 2, 3]), notes: [] }) },
    throws: { summary: 'fails', tolerance: { abs: 1e-5 }, options: {}, transform: async () => Promise.reject(new Error('no\nmore')) },
    reshaped: { summary: 'another signature', tolerance: { abs: 1e-5 }, options: {}, transform: async () => ({ bytes: new Uint8Array(readFileSync(join(repository, 'pooler', '1', 'model.onnx'))), notes: [] }) },
    loose: { ...graphMode, tolerance: { abs: 1 } },
    relative: { summary: 'answers as classifier 2', tolerance: { ofOutputRange: 1e-2 }, options: {}, transform: async () => ({ bytes: other, notes: [] }) },
  };
  await t.rejects(optimize({ repository, model: 'classifier', version: '1', mode: 'wrong' }, modes), {
    message: /^--to wrong changes classifier's answers, nothing written: random sample 1 of 4 \(dynamic dims 1\): output "probabilities" differs at index \d+ \[0,\d+\]: .*> tolerance 0\.00001\)$/,
  });
  // The relative bound is scaled by the sample's largest |probability| (≤ 1), so the failure's tolerance is below 1e-2.
  const relative = await optimize({ repository, model: 'classifier', version: '1', mode: 'relative' }, modes).catch((err: Error) => err.message);
  t.match(relative, /^--to relative changes classifier's answers, nothing written: random sample 1 of 4 .*> tolerance 0\.00\d+\)$/);
  await t.rejects(optimize({ repository, model: 'classifier', version: '1', mode: 'junk' }, modes), { message: /^--to junk made something that is not an ONNX model/ });
  await t.rejects(optimize({ repository, model: 'classifier', version: '1', mode: 'reshaped' }, modes), {
    message: /^--to reshaped changes classifier's answers, nothing written: the new model's signature differs from the source's: inputs /,
  });
  await t.rejects(optimize({ repository, model: 'classifier', version: '1', mode: 'throws' }, modes), { message: /^--to throws failed on .*: no$/ });
  t.same(readdirSync(join(repository, 'classifier')).sort(), ['1', '2', '3', 'config.yaml'], 'nothing written');
  const done = await optimize({ repository, model: 'pooler', version: '1', mode: 'loose', outVersion: '10' }, modes);
  t.equal(done.version, '10', '--out-version taken as given');
});

t.test('the command line: 0 written, 1 refused, 2 a mistake in the command', async (t) => {
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runOptimize(args, (text) => (out += text), (text) => (err += text));
    return { code, out, err };
  };
  const ok = await run(['ranker', '--version', '1', '--to', 'graph', '--models', repository, '--samples', '64', '--speed-rounds', '1', '--speed-round-ms', '20']);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /^wrote .*ranker\/2\/model\.onnx \(\d+ bytes; source \d+ bytes\)\nwrote .*ranker\/2\/optimization\.json\nmax \|new − source\| over 4 seeded random samples: embedding \S+, score \S+ \(tolerance 0\.00001\)\n/);
  // The ranker's embedding is rank-2 float, so it is read as classifier-like too (as the rollout gate reads it).
  t.match(ok.out, /\nwrote .*ranker\/2\/report\.md \(embedding top-1 agreement 100\.00 %, [\d.]+× rows\/s at batch 1, [\d.]+× rows\/s at batch 32, 1\.00\d× the bytes\)\n$/);
  t.same(readdirSync(join(repository, 'ranker', '2')).sort(), ['model.onnx', 'optimization.json', 'report-accuracy.svg', 'report-speed.svg', 'report.json', 'report.md']);
  t.equal(ok.err, '');

  const refused = await run(['ranker', '--version', '3', '--to', 'graph', '--models', repository]);
  t.same(refused, { code: 1, out: '', err: 'infergate optimize: --version 3: ranker has no such version (it has 1, 2)\n' });

  const mistakes: Array<[string[], RegExp]> = [
    [['--version', '1', '--to', 'graph'], /give one MODEL \(got 0\)/],
    [['ranker', '--to', 'graph'], /--version N is required/],
    [['ranker', '--version', 'x', '--to', 'graph'], /--version "x" is not a version/],
    [['ranker', '--version', '1'], /--to is required \(graph/],
    [['ranker', '--version', '1', '--to', 'fp8'], /--to "fp8": no such mode/],
    [['ranker', '--version', '1', '--to', 'graph', '--bogus'], /Unknown option '--bogus'/],
    [['ranker', '--version', '1', '--to', 'graph', '--no-fp16-activations'], /--\[no-\]fp16-activations is for --to fp16/],
    [['ranker', '--version', '1', '--to', 'fp16', '--per-tensor'], /--per-tensor is for --to int8/],
    [['ranker', '--version', '1', '--to', 'graph', '--samples', '0'], /--samples "0" is not a whole number from 1 to 10000000/],
    [['ranker', '--version', '1', '--to', 'graph', '--speed-round-ms', '1.5'], /--speed-round-ms "1.5" is not a whole number/],
    [['ranker', '--version', '1', '--to', 'graph', '--samples', '9', '--sample-file', 'x.json'], /give --samples N or --sample-file F, not both/],
    [['ranker', '--version', '1', '--to', 'graph', '--no-report', '--speed-rounds', '2'], /--speed-rounds is for the report, and --no-report turns it off/],
    [['ranker', '--version', '1', '--to', 'graph', '--no-report', '--rollout'], /--rollout takes its agreement thresholds from the report: drop --no-report/],
    [['ranker', '--version', '1', '--to', 'graph', '--wait'], /--wait is for --rollout/],
    [['ranker', '--version', '1', '--to', 'graph', '--rollout-plan', 'p.json'], /--rollout-plan is for --rollout/],
    [['ranker', '--version', '1', '--to', 'graph', '--gateway', 'http://127.0.0.1:1'], /--gateway is for --rollout/],
    [['ranker', '--version', '1', '--to', 'graph', '--rollout', '--gateway', 'ftp://x'], /--gateway "ftp:\/\/x" is not an http\(s\) URL/],
  ];
  for (const [args, reason] of mistakes) {
    const { code, err } = await run(args);
    t.equal(code, 2, args.join(' '));
    t.match(err, reason);
    t.match(err, /usage: infergate optimize MODEL --version N --to <graph\|fp16\|int8>/);
  }
});

t.test('OptimizeError is what the CLI reports as a refusal', async (t) => {
  t.equal(new OptimizeError('x').name, 'OptimizeError');
});

// Last: these add versions to heavy and ranker, which the tests above expect to have none.
t.test('fp16: weights halved, inputs and outputs FLOAT, the transform\'s notes and the relative tolerance recorded', async (t) => {
  const done = await optimize({ repository, model: 'heavy', version: '1', mode: 'fp16' });
  const record = JSON.parse(readFileSync(done.recordPath, 'utf8'));
  t.match(record, {
    mode: 'fp16',
    options: { keepIo: true, fp16Activations: true, fp32Operators: /fp16-cpu-ops\.ts/ },
    verification: { tolerance: { ofOutputRange: 1e-2 } },
  });
  t.ok(done.output.bytes < done.source.bytes * 0.51, `${done.output.bytes} of ${done.source.bytes} bytes`);
  t.ok(record.verification.maxErrorOfOutputRange.logits < 1e-2, `error ${record.verification.maxErrorOfOutputRange.logits} of the range`);
  t.ok(record.notes.some((note: string) => /^initializer \S+ converted: FLOAT → FLOAT16, \d+ values$/.test(note)), 'initializers converted');
  t.ok(record.notes.some((note: string) => /^node \S+ kept: onnxruntime 1\.30 CPU \(x86-64\) has no float16 kernel/.test(note)), 'blocked nodes say why');
  t.ok(record.notes.includes('input input kept: FLOAT, so clients need no change (keepIo)'), 'the input stays FLOAT');
});

t.test('fp16 without activations: no operator computes in FP16 (the ranker\'s Gather reads an FP32 table)', async (t) => {
  const run = (fp16Activations: boolean, outVersion: string) =>
    optimize({ repository, model: 'ranker', version: '1', mode: 'fp16', outVersion }, optimizeModes({ fp16Activations }));
  const [on, off] = [await run(true, '20'), await run(false, '21')];
  const notes = (done: { recordPath: string }) => JSON.parse(readFileSync(done.recordPath, 'utf8')).notes as string[];
  t.ok(notes(on).includes('node Gather_gathered converted: computes in FP16'));
  t.notOk(notes(off).some((note) => / converted: computes in FP16$/.test(note)), 'no node converted');
  t.ok(notes(off).includes('cast Cast_table_fp32 inserted: table to FLOAT'));
  t.match(JSON.parse(readFileSync(off.recordPath, 'utf8')).options, { fp16Activations: false, fp32Operators: 'all' });
});

t.test('int8: weights a quarter, per channel unless --per-tensor, kept nodes listed, the relative tolerance recorded', async (t) => {
  const run = (int8PerTensor: boolean, outVersion: string) => optimize({ repository, model: 'heavy', version: '1', mode: 'int8', outVersion }, optimizeModes({ int8PerTensor }));
  const [perChannel, perTensor] = [await run(false, '30'), await run(true, '31')];
  const record = JSON.parse(readFileSync(perChannel.recordPath, 'utf8'));
  t.match(record, { mode: 'int8', options: { weightType: 'int8', perChannel: true }, verification: { tolerance: { ofOutputRange: 2e-2 } } });
  t.ok(perChannel.output.bytes <= perChannel.source.bytes * 0.3, `${perChannel.output.bytes} of ${perChannel.source.bytes} bytes`);
  t.ok(record.verification.maxErrorOfOutputRange.logits < 2e-2, `error ${record.verification.maxErrorOfOutputRange.logits} of the range`);
  t.ok(record.notes.includes('operators: Gemm ×3 → Add ×3, Cast ×3, DynamicQuantizeLinear ×3, MatMulInteger ×3, Mul ×6'), 'every Gemm quantized');
  t.ok(record.notes.some((note: string) => /^initializer W0 quantized: FLOAT \[512, 2048\] → INT8 .*per output channel \(2048 scales\)/.test(note)), 'per-channel weights');
  t.ok(record.notes.includes('node Relu_relu0 kept: Relu has no integer form here: only MatMul and Gemm weights are quantized'), 'kept nodes say why');
  const tensorRecord = JSON.parse(readFileSync(perTensor.recordPath, 'utf8'));
  t.match(tensorRecord.options, { perChannel: false });
  t.notOk(tensorRecord.notes.some((note: string) => / per output channel /.test(note)), 'no per-channel weight with --per-tensor');
});
