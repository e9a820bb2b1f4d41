// Live model changes on real worker processes (POST /models/{m}/load and
// /unload) over ONNX files this test writes: a worker loads, reloads and
// unloads models while serving, and no request fails for it.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import t, { type Test } from 'tap';
import { Pool } from 'undici';
import { decodeFrame, encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type InferResponseHeader, type Tensor, type WorkerModelsBody } from '../../common/wire.ts';
import { encodeModel } from '../../scripts/demo-models/onnx-builder.ts';
import { DEMO_MODELS } from '../../scripts/demo-models/specs.ts';
import { mlpGraph, mlpWeights } from '../../scripts/demo-models/specs.ts';
import { unsupportedOperatorModel, writeModel } from '../helpers/test-models.ts';
import { LogLines } from './log-lines.ts';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));
// Same session options in the worker and here, so outputs agree to the bit.
const SESSION_ARGS = ['--intra-op-threads', '1', '--graph-optimization-level', 'all', '--execution-mode', 'sequential'];
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };

const dir = mkdtempSync(join(tmpdir(), 'infergate-live-load-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** A small MLP, input [batch, 8] → y [batch, 4]; another seed gives other answers from the same signature. */
const small = (seed: number): Uint8Array => encodeModel(mlpGraph('small', mlpWeights(seed, [8, 16, 4]), 'y', false));
const HEAVY = encodeModel(DEMO_MODELS.find((m) => m.name === 'heavy')!.graph());
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Replaces a file the way an operator should: write aside, then rename over it. */
function replaceFile(path: string, bytes: Uint8Array): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

type Answer = { status: number; code?: string; version?: string; bytes?: Buffer };
type Worker = { pool: Pool; control: (path: string, body?: unknown) => Promise<{ status: number; json: any }>; infer: (model: string, version: string, input: Tensor) => Promise<Answer> };

async function startWorker(t: Test, repository: string, args: string[]): Promise<Worker> {
  const socketPath = join(dir, `w${count++}.sock`);
  const child = spawn(process.execPath, [WORKER_MAIN, '--listen', `unix:${socketPath}`, '--models', repository, ...SESSION_ARGS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const pool = new Pool('http://localhost', { socketPath, connections: 16 });
  t.teardown(async () => {
    await pool.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await new LogLines(child.stdout).ready().catch((err: Error) => Promise.reject(new Error(`${err.message}\nstderr: ${stderr}`)));
  const control = async (path: string, body?: unknown) => {
    const res = await pool.request({ method: 'POST', path, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  const infer = async (model: string, version: string, input: Tensor): Promise<Answer> => {
    const res = await pool.request({ method: 'POST', path: '/infer', body: encodeFrame<InferRequestHeader>({ model, version }, [input]), headers: { 'content-type': FRAME_CONTENT_TYPE } });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) return { status: res.statusCode, code: JSON.parse(bytes.toString()).code };
    const { header, tensors } = decodeFrame<InferResponseHeader>(bytes);
    return { status: 200, version: header.version, bytes: Buffer.from(tensors[0]!.data) };
  };
  return { pool, control, infer };
}

function fp32(shape: number[], seed: number): Tensor {
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed * 1000 + i));
  return { name: 'input', datatype: 'FP32', shape, data: new Uint8Array(values.buffer) };
}

/** What onnxruntime answers in this process for a model file's bytes. */
async function expected(model: Uint8Array, input: Tensor): Promise<Buffer> {
  const session = await ort.InferenceSession.create(model, SESSION_OPTIONS);
  try {
    const results = await session.run({ input: new ort.Tensor('float32', new Float32Array(input.data.slice().buffer), input.shape) });
    const out = results[session.outputNames[0]!]!.data as Float32Array;
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } finally {
    await session.release();
  }
}

type Sent = Answer & { sentAfterMark: boolean };

/** Closed-loop traffic on one model: `connections` requests always outstanding until stop(). */
function traffic(worker: Worker, model: string, version: string, input: Tensor, connections: number) {
  const answers: Sent[] = [];
  const waiters: Array<{ target: number; resolve: () => void }> = [];
  let stopped = false;
  let mark = false;
  const loops = Array.from({ length: connections }, async () => {
    while (!stopped) {
      const sentAfterMark = mark;
      answers.push({ ...(await worker.infer(model, version, input)), sentAfterMark });
      for (const w of waiters.filter((w) => answers.length >= w.target)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    answers,
    /** Resolves once `n` more answers have arrived: the traffic really runs across what the test does next. */
    arrive: (n: number): Promise<void> => new Promise((resolve) => waiters.push({ target: answers.length + n, resolve })),
    /** Requests sent from now on are flagged sentAfterMark. */
    mark: () => void (mark = true),
    stop: async (): Promise<Sent[]> => {
      stopped = true;
      await Promise.all(loops);
      return answers;
    },
  };
}

const names = (body: WorkerModelsBody): string[] => body.models.map((m) => `${m.name}/${m.version}`);

t.test('a new model and a new version load while another model serves steady traffic, with no failure', async (t) => {
  const repository = join(dir, `repo${count++}`);
  writeModel(repository, 'steady', '1', small(1));
  writeModel(repository, 'grow', '1', small(2), 'versionPolicy: all\n');
  const worker = await startWorker(t, repository, ['--model', 'steady', '--model', 'grow']);
  const steady = traffic(worker, 'steady', '1', fp32([2, 8], 1), 4);
  const latest = traffic(worker, 'grow', '', fp32([2, 8], 2), 2);
  await steady.arrive(20);

  writeModel(repository, 'grow', '2', small(3));
  const grown = await worker.control('/models/grow/load', { versions: ['1', '2'] });
  t.equal(grown.status, 200);
  t.same(names(grown.json), ['grow/1', 'grow/2', 'steady/1'], 'the new version is served once the load answers');
  latest.mark();
  writeModel(repository, 'heavy', '1', HEAVY);
  const heavy = await worker.control('/models/heavy/load');
  t.same([heavy.status, names(heavy.json)], [200, ['grow/1', 'grow/2', 'heavy/1', 'steady/1']], 'a model new to the worker loads');
  await steady.arrive(20);

  const steadyAnswers = await steady.stop();
  const latestAnswers = await latest.stop();
  const want = await expected(small(1), fp32([2, 8], 1));
  t.same(steadyAnswers.filter((a) => a.status !== 200 || !a.bytes!.equals(want)), [], `all ${steadyAnswers.length} steady answers are right`);
  t.same(latestAnswers.filter((a) => a.status !== 200), [], `all ${latestAnswers.length} answers for grow's latest version succeed`);
  t.same(latestAnswers.filter((a) => a.sentAfterMark && a.version !== '2'), [], 'once version 2 loaded, the latest is version 2');
  const run = await worker.infer('heavy', '1', fp32([3, 512], 4));
  t.ok(run.bytes?.equals(await expected(HEAVY, fp32([3, 512], 4))), 'the loaded model answers as onnxruntime does');
});

t.test('a replaced model.onnx is reloaded: answers and fingerprint change, no request fails', async (t) => {
  const repository = join(dir, `repo${count++}`);
  const file = writeModel(repository, 'swap', '1', small(5));
  const worker = await startWorker(t, repository, ['--model', 'swap']);
  const input = fp32([1, 8], 5);
  const [before, after] = [await expected(small(5), input), await expected(small(6), input)];
  t.notOk(before.equals(after), 'the two files answer differently');
  const load = traffic(worker, 'swap', '1', input, 4);
  await load.arrive(20);

  const unchanged = await worker.control('/models/swap/load');
  t.same(unchanged.json.models.map((m: any) => m.fingerprint), [sha256(small(5))], 'an unchanged file keeps its fingerprint');
  replaceFile(file, small(6));
  const reloaded = await worker.control('/models/swap/load');
  t.equal(reloaded.status, 200);
  t.same(reloaded.json.models.map((m: any) => m.fingerprint), [sha256(small(6))], 'GET /models reports the new file');
  load.mark();
  await load.arrive(20);

  const answers = await load.stop();
  t.same(answers.filter((a) => a.status !== 200), [], `all ${answers.length} requests succeed across the swap`);
  t.same(answers.filter((a) => !a.bytes?.equals(before) && !a.bytes?.equals(after)), [], "every answer is one file's or the other's");
  t.same(answers.filter((a) => a.sentAfterMark && !a.bytes!.equals(after)), [], "once the load answered, every answer is the new file's");

  replaceFile(file, new TextEncoder().encode('not an onnx model'));
  const broken = await worker.control('/models/swap/load');
  t.equal(broken.status, 200);
  t.same(broken.json.models.map((m: any) => m.fingerprint), [sha256(small(6))], 'a replacement that cannot load leaves the served session in place');
  t.match(broken.json.warnings, [{ name: 'swap', version: '1', message: /not an ONNX model: .*still serving the previous model\.onnx/ }]);
  t.ok((await worker.infer('swap', '1', input)).bytes?.equals(after), 'and it keeps answering');
});

t.test('unload: runs in flight finish; later requests get 404 GW_ERR_MODEL_NOT_FOUND; others are untouched', async (t) => {
  const repository = join(dir, `repo${count++}`);
  writeModel(repository, 'heavy', '1', HEAVY);
  writeModel(repository, 'steady', '1', small(7));
  const worker = await startWorker(t, repository, ['--model', 'heavy', '--model', 'steady']);
  const input = fp32([64, 512], 8);
  const want = await expected(HEAVY, input);
  const heavy = traffic(worker, 'heavy', '1', input, 8);
  const steady = traffic(worker, 'steady', '1', fp32([1, 8], 7), 2);
  await heavy.arrive(16);

  const answeredBefore = heavy.answers.length;
  const unloaded = await worker.control('/models/heavy/unload');
  t.same([unloaded.status, names(unloaded.json)], [200, ['steady/1']], 'the answer comes once heavy is gone');
  heavy.mark();
  await heavy.arrive(16);

  const answers = await heavy.stop();
  const wrong = answers.filter((a) => !(a.status === 200 && a.bytes!.equals(want)) && !(a.status === 404 && a.code === 'GW_ERR_MODEL_NOT_FOUND'));
  t.same(wrong, [], 'every request either ran to a right answer or was refused as not found');
  t.same(answers.filter((a) => a.sentAfterMark && a.status !== 404), [], 'every request sent after the unload is refused');
  const finished = answers.slice(answeredBefore).filter((a) => a.status === 200).length;
  t.comment(`${finished} requests in flight during the unload finished with their answer`);
  t.same((await steady.stop()).filter((a) => a.status !== 200), [], 'the other model served throughout');

  const again = await worker.control('/models/heavy/unload');
  t.same([again.status, names(again.json)], [200, ['steady/1']], 'unloading again is not an error');
  const back = await worker.control('/models/heavy/load');
  t.same(names(back.json), ['heavy/1', 'steady/1'], 'a load brings it back');
  t.ok((await worker.infer('heavy', '1', input)).bytes?.equals(want));
});

t.test('a version that cannot load is unavailable with its reason; the worker keeps serving', async (t) => {
  const repository = join(dir, `repo${count++}`);
  writeModel(repository, 'steady', '1', small(9));
  const worker = await startWorker(t, repository, ['--model', 'steady']);
  const steady = traffic(worker, 'steady', '1', fp32([1, 8], 9), 2);
  await steady.arrive(10);

  writeModel(repository, 'broken', '1', unsupportedOperatorModel());
  const loaded = await worker.control('/models/broken/load');
  t.equal(loaded.status, 200);
  t.same(names(loaded.json), ['steady/1']);
  t.match(loaded.json.unavailable, [{ name: 'broken', version: '1', reason: /broken\/1\/model\.onnx: onnxruntime cannot load it/ }]);
  const refused = await worker.infer('broken', '1', fp32([1, 4], 1));
  t.same([refused.status, refused.code], [400, 'GW_ERR_MODEL_UNAVAILABLE']);

  const table: Array<[string, string, unknown, number, string]> = [
    ['a model the repository does not have', '/models/nosuch/load', undefined, 404, 'GW_ERR_MODEL_NOT_FOUND'],
    ['a version the model does not have', '/models/steady/load', { versions: ['1', '7'] }, 200, ''],
    ['a body that is not JSON', '/models/steady/load', '{', 400, 'GW_ERR_MALFORMED_JSON'],
    ['a version that is not a version name', '/models/steady/load', { versions: ['01'] }, 400, 'GW_ERR_INVALID_REQUEST'],
    ['an unknown body field', '/models/steady/load', { version: '1' }, 400, 'GW_ERR_INVALID_REQUEST'],
    ['a dot name', '/models/%2E%2E/load', undefined, 400, 'GW_ERR_INVALID_REQUEST'],
  ];
  for (const [name, path, body, status, code] of table) {
    const answer = await worker.control(path, body);
    t.same([answer.status, answer.json.code ?? ''], [status, code], name);
  }
  const report = await worker.control('/models/steady/load', { versions: ['1'] });
  t.same([names(report.json), report.json.unavailable.map((u: any) => `${u.name}/${u.version}`)], [['steady/1'], ['broken/1']], 'a version no longer asked for is no longer reported');

  t.same((await steady.stop()).filter((a) => a.status !== 200), [], 'the other model served throughout');
});
