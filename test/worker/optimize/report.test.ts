// The accuracy and speed report optimize writes beside a new version, in this
// process over a temp repository of the demo models: heavy's INT8 version
// meets the agreement bound (on 2,000 rows here; 10,000 in the
// docs), graph mode changes nothing, a file of requests is a sample set, and
// a report that cannot be made leaves nothing written. Speed is measured, not
// judged: that belongs to the benchmark (benchmarks/micro/model-variants.ts).

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeDemoModels } from '../../../scripts/demo-models/index.ts';
import { optimize } from '../../../worker/optimize/optimize.ts';
import type { OptimizationReport, ReportOptions } from '../../../worker/optimize/report.ts';

const repository = t.testdir({});
await writeDemoModels(repository);
const quick = (samples: ReportOptions['samples']): ReportOptions => ({ samples, speed: { batches: [1, 32], rounds: 1, roundMs: 30 } });
const readReport = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as OptimizationReport;

t.test('heavy int8: top-1 agreement ≥ 99 %, a quarter of the bytes, both batch sizes timed; the files agree', async (t) => {
  const done = await optimize({ repository, model: 'heavy', version: '1', mode: 'int8', report: quick({ kind: 'random', rows: 2000 }) });
  const dir = join(repository, 'heavy', done.version);
  t.same(readdirSync(dir).sort(), ['model.onnx', 'optimization.json', 'report-accuracy.svg', 'report-speed.svg', 'report.json', 'report.md']);
  const report = readReport(dir);
  t.same(report, JSON.parse(JSON.stringify(done.report)), 'report.json is what optimize measured');
  t.match(report, { model: 'heavy', mode: 'int8', source: { version: '1', bytes: 8_419_780 }, made: { version: done.version, bytes: done.output.bytes }, samples: { rows: 2000 } });
  const [logits] = report.accuracy;
  t.equal(logits!.name, 'logits');
  t.equal(logits!.elements, 2000 * 10);
  t.ok(logits!.top1!.agreeing / logits!.top1!.rows >= 0.99, `top-1 agreement ${logits!.top1!.agreeing} of ${logits!.top1!.rows}`);
  t.ok(logits!.cosineSimilarity! > 0.999, `cosine ${logits!.cosineSimilarity}`);
  t.ok(logits!.meanAbsError! < logits!.maxAbsError!, 'mean below max');
  t.ok(report.made.bytes <= 0.3 * report.source.bytes);
  t.same(report.speed.batches.map((row) => row.batch), [1, 32]);
  for (const row of report.speed.batches) t.ok('ratio' in row && row.sourceRowsPerS > 0 && row.newRowsPerS > 0 && row.ratio > 0, `batch ${row.batch} timed`);
  t.match(report.gate, { maxAbsDiff: Number, minArgmaxAgreement: Number, minComparisons: Number });
  if ('maxAbsDiff' in report.gate) t.ok(report.gate.maxAbsDiff >= 2 * logits!.maxAbsError!, 'the gate leaves room over the measured error');

  const markdown = readFileSync(join(dir, 'report.md'), 'utf8');
  t.match(markdown, `# heavy version ${done.version}: \`--to int8\` of version 1\n`);
  t.match(markdown, /\n\| logits \| 20000 \| \d\.\d\de-\d \([\d.]+ % of range\) \| .* \| 0\.99\d{4} \| 99\.\d\d % \(\d+ of 2000 rows\) \|\n/);
  t.match(markdown, /\n\| 32 \| \d+ \| \d+ \| [\d.]+ \|\n/);
  t.match(markdown, `\n| bytes | 8419780 | ${done.output.bytes} | 0.253 |\n`);
  t.match(markdown, `${JSON.stringify({ agreement: report.gate })}\n`);
  for (const chart of ['report-speed.svg', 'report-accuracy.svg']) {
    const svg = readFileSync(join(dir, chart), 'utf8');
    t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>\n$/, chart);
    t.match(markdown, `](${chart})`, `report.md shows ${chart}`);
  }
  t.match(readFileSync(join(dir, 'report-speed.svg'), 'utf8'), /batch 32/);
  t.match(readFileSync(join(dir, 'report-accuracy.svg'), 'utf8'), /top-1 disagreement/);
});

t.test('graph on the classifier: no error at all, every row agrees, the gate at its floors', async (t) => {
  const done = await optimize({ repository, model: 'classifier', version: '2', mode: 'graph', report: quick({ kind: 'random', rows: 100 }) });
  const [probabilities] = done.report!.accuracy;
  t.match(probabilities, { name: 'probabilities', maxAbsError: 0, meanAbsError: 0, cosineSimilarity: 1, top1: { rows: 100, agreeing: 100 }, mismatches: 0 });
  t.same(done.report!.gate, { maxAbsDiff: 1e-5, minArgmaxAgreement: 0.99, minComparisons: 20 });
  t.match(done.report!.samples.description, /^100 rows of seeded random inputs/);
});

t.test('a file of requests as the sample set: one request, a JSON array, or JSON Lines', async (t) => {
  const request = (rows: number[][]) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64], data: rows }] });
  const row = (value: number) => Array.from({ length: 64 }, (_, i) => (value * (i + 1)) % 1);
  const files = {
    'one.json': JSON.stringify(request([row(0.1)])),
    'array.json': JSON.stringify([request([row(0.2), row(0.3)]), request([row(0.4)])]),
    'lines.jsonl': `${JSON.stringify(request([row(0.5)]))}\n\n${JSON.stringify(request([row(0.6), row(0.7)]))}\n`,
  };
  const dir = t.testdir(files);
  const rows: Record<string, string> = { 'one.json': '1 request', 'array.json': '2 requests', 'lines.jsonl': '2 requests' };
  for (const [name, counted] of Object.entries(rows)) {
    const path = join(dir, name);
    const done = await optimize({ repository, model: 'classifier', version: '1', mode: 'graph', report: quick({ kind: 'file', path }) });
    const total = name === 'one.json' ? 1 : 3;
    t.equal(done.report!.samples.description, `the ${counted} of ${path} (${total} rows)`, name);
    t.match(done.report!.accuracy[0], { top1: { rows: total, agreeing: total } }, name);
  }
});

t.test('a sample file at fault: one line naming the request, and nothing written', async (t) => {
  const dir = t.testdir({
    'bad-line.jsonl': '{"inputs":[]}\n{"inputs": [\n',
    'wrong-shape.json': JSON.stringify([{ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0) }] }, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }]),
    'empty.json': '[]',
  });
  const before = readdirSync(join(repository, 'classifier')).sort();
  const cases: Array<[string, RegExp]> = [
    ['missing.json', /^the report failed, nothing written: cannot read --sample-file .*missing\.json: ENOENT$/],
    ['bad-line.jsonl', /^the report failed, nothing written: --sample-file .*bad-line\.jsonl: line 2 is not JSON/],
    ['wrong-shape.json', /^the report failed, nothing written: request 2 of 2 in .*wrong-shape\.json: input shape contradicts the model's signature .*: input "input" has dim 1 = 3/],
    ['empty.json', /^the report failed, nothing written: --sample-file .*empty\.json holds no request$/],
  ];
  for (const [name, message] of cases) {
    await t.rejects(optimize({ repository, model: 'classifier', version: '1', mode: 'graph', report: quick({ kind: 'file', path: join(dir, name) }) }), { name: 'OptimizeError', message }, name);
  }
  t.same(readdirSync(join(repository, 'classifier')).sort(), before, 'no version added');
});

t.test('the pooler (batch and sequence axes): a file sample of its own sequence length', async (t) => {
  const path = join(t.testdir({}), 'pooler.json');
  writeFileSync(path, JSON.stringify({ inputs: [{ name: 'tokens', datatype: 'FP32', shape: [2, 3, 8], data: new Array(48).fill(0.5) }] }));
  const done = await optimize({ repository, model: 'pooler', version: '1', mode: 'graph', report: quick({ kind: 'file', path }) });
  t.same(done.report!.speed.batches.map((row) => row.batch), [1, 32]);
  t.match(done.report!.accuracy, [{ name: 'pooled', elements: 8, maxAbsError: 0, top1: { rows: 2, agreeing: 2 } }]);
});
