// `infergate optimize --to graph`, `--to fp16` and `--to int8` as users run them, in their
// own process, on every demo model of a temp repository: a new version beside
// the source with its optimization.json; the same commands on a second
// repository write byte-identical files; and one real gateway on the
// repository serves every new version with the source version's answers
// (within graph's 1e-5, fp16's 1e-2 and int8's 2e-2 of the output's largest magnitude).

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEMO_MODELS, writeDemoModels } from '../../scripts/demo-models/index.ts';
import { mulberry32 } from '../../scripts/demo-models/prng.ts';
import { RUNTIME_VERSION } from '../../worker/runtime-version.ts';
import { getJson, postJson, startGateway } from '../helpers/gateway.ts';
import { runInfergate } from '../helpers/run-infergate.ts';

/** Each mode's expected record entries, and the largest |new − source| allowed for an output whose largest |source element| is given. */
const MODES = {
  graph: { options: { graphOptimizationLevel: 'extended', intraOpNumThreads: 1 }, tolerance: { abs: 1e-5 }, allowed: () => 1e-5 },
  fp16: { options: { keepIo: true, fp16Activations: true }, tolerance: { ofOutputRange: 1e-2 }, allowed: (largest: number) => 1e-2 * largest },
  int8: { options: { weightType: 'int8', perChannel: true }, tolerance: { ofOutputRange: 2e-2 }, allowed: (largest: number) => 2e-2 * largest },
} as const;
type ModeName = keyof typeof MODES;

/** Every version served (the default policy serves only the latest, which would hide the sources). */
async function repository(dir: string): Promise<string> {
  await writeDemoModels(dir);
  for (const name of ['heavy', 'ranker', 'pooler']) writeFileSync(join(dir, name, 'config.yaml'), 'versionPolicy: all\n');
  return dir;
}

const optimizeCli = (args: string[]) => runInfergate(['optimize', ...args]);

/**
 * Each demo model's source version and the version each mode gives it, graph first: classifier has 1 and 2, which
 * become 3 and 4 (graph), 5 and 6 (fp16), then 7 and 8 (int8); the others' 1 becomes 2 (graph), 3 (fp16), then 4 (int8).
 */
const RUNS = (['graph', 'fp16', 'int8'] as const).flatMap((mode, m) =>
  DEMO_MODELS.map((d) => ({ mode, model: d.name, source: d.version, made: String(Number(d.version) + (d.name === 'classifier' ? 2 + 2 * m : 1 + m)) })),
);

/** Optimizes every demo model of one repository, one run after the other (each takes the next version number). */
async function optimizeAll(dir: string): Promise<Array<{ code: number | null; stdout: string; stderr: string }>> {
  const results = [];
  // The report (timed, so never byte-identical) has its own test: test/e2e/optimize-rollout.test.ts.
  for (const run of RUNS) results.push(await optimizeCli([run.model, '--version', run.source, '--to', run.mode, '--models', dir, '--no-report']));
  return results;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const root = t.testdir({});
const [first, second] = await Promise.all([repository(join(root, 'first')), repository(join(root, 'second'))]);
const [firstRuns, secondRuns] = await Promise.all([optimizeAll(first), optimizeAll(second)]);

t.test('every demo model: exit 0, a new version with its record of how it was made', async (t) => {
  for (const [i, run] of RUNS.entries()) {
    const { code, stdout, stderr } = firstRuns[i]!;
    const label = `${run.mode}: ${run.model} ${run.source} → ${run.made}`;
    const mode = MODES[run.mode as ModeName];
    t.equal(code, 0, `${label}: ${stderr}`);
    t.equal(stderr, '', label);
    t.match(stdout, new RegExp(`^wrote .*/${run.model}/${run.made}/model\\.onnx \\(\\d+ bytes; source \\d+ bytes\\)\\n`), label);
    const versionDir = join(first, run.model, run.made);
    const bytes = readFileSync(join(versionDir, 'model.onnx'));
    const record = JSON.parse(readFileSync(join(versionDir, 'optimization.json'), 'utf8'));
    const source = readFileSync(join(first, run.model, run.source, 'model.onnx'));
    t.match(
      record,
      {
        model: run.model,
        version: run.made,
        mode: run.mode,
        runtime: { 'onnxruntime-node': RUNTIME_VERSION },
        options: mode.options,
        source: { version: run.source, sha256: sha256(source), bytes: source.byteLength },
        output: { sha256: sha256(bytes), bytes: bytes.byteLength },
        verification: { tolerance: mode.tolerance },
      },
      label,
    );
    const bound = 'abs' in mode.tolerance ? record.verification.maxAbsError : record.verification.maxErrorOfOutputRange;
    for (const error of Object.values(bound)) t.ok((error as number) <= Object.values(mode.tolerance)[0]!, `${label}: max error ${error}`);
  }
});

t.test('a second run into another repository writes byte-identical files', async (t) => {
  for (const [i, run] of RUNS.entries()) {
    t.equal(secondRuns[i]!.code, 0, secondRuns[i]!.stderr);
    for (const file of ['model.onnx', 'optimization.json']) {
      const a = readFileSync(join(first, run.model, run.made, file));
      const b = readFileSync(join(second, run.model, run.made, file));
      t.ok(a.equals(b), `${run.mode}: ${run.model}/${run.made}/${file} identical`);
    }
  }
});

t.test('a gateway serves each new version with the source version’s answers', async (t) => {
  const { url } = await startGateway(t, { models: { defaultReplicas: 1 }, cache: { enabled: false } }, first);
  const random = mulberry32(20);
  for (const run of RUNS) {
    const meta = await getJson(`${url}/v2/models/${run.model}/versions/${run.made}`);
    t.equal(meta.status, 200, `${run.model} ${run.made} metadata`);
    // Four rows of seeded values; integer inputs (ranker's item ids) small enough for any table.
    const inputs = (meta.body.inputs as Array<{ name: string; datatype: string; shape: number[] }>).map((input) => {
      const shape = input.shape.map((d) => (d === -1 ? 4 : d));
      const count = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: count }, () => (input.datatype.startsWith('FP') ? random() * 2 - 1 : Math.floor(random() * 100)));
      return { name: input.name, datatype: input.datatype, shape, data };
    });
    const answer = async (version: string) => {
      const res = await postJson(`${url}/v2/models/${run.model}/versions/${version}/infer`, { inputs });
      t.equal(res.status, 200, `${run.mode}: ${run.model} ${version} answers`, { body: res.body });
      return res.body as { model_version: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
    };
    const [was, now] = [await answer(run.source), await answer(run.made)];
    t.equal(now.model_version, run.made);
    t.same(
      now.outputs.map((o) => [o.name, o.shape]),
      was.outputs.map((o) => [o.name, o.shape]),
      `${run.model}: same outputs and shapes`,
    );
    for (const output of now.outputs) {
      const expected = was.outputs.find((o) => o.name === output.name)!.data;
      const maxAbsError = output.data.reduce((max, value, i) => Math.max(max, Math.abs(value - expected[i]!)), 0);
      const allowed = MODES[run.mode as ModeName].allowed(expected.reduce((max, value) => Math.max(max, Math.abs(value)), 0));
      t.ok(maxAbsError <= allowed, `${run.mode}: ${run.model} ${run.made} ${output.name}: max |error| ${maxAbsError} ≤ ${allowed}`);
    }
  }
});
