// Real worker processes (node worker/main.ts) over the demo models: what they
// report and answer must be what onnxruntime answers in this process for the
// same inputs, and SIGTERM must let in-flight requests finish.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import t, { type Test } from 'tap';
import { Client } from 'undici';
import { decodeFrame, encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type InferResponseHeader, type Tensor, type WorkerModelsBody } from '../../common/wire.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';
import { LogLines } from './log-lines.ts';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));
// Same session options in the worker and here, so outputs agree to the bit.
const SESSION_ARGS = ['--intra-op-threads', '1', '--graph-optimization-level', 'all', '--execution-mode', 'sequential'];
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };

const dir = mkdtempSync(join(tmpdir(), 'infergate-worker-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const repository = join(dir, 'models');
await writeDemoModels(repository);

type Worker = { child: ChildProcess; socketPath: string; client: Client; stderr: () => string; exited: Promise<number | null> };
let workerCount = 0;

/** Spawns a worker and resolves once it printed its ready line; teardown stops it. */
async function startWorker(t: Test, args: string[] = []): Promise<Worker> {
  const socketPath = join(dir, `w${workerCount++}.sock`);
  const child = spawn(process.execPath, [WORKER_MAIN, '--listen', `unix:${socketPath}`, '--models', repository, ...SESSION_ARGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const log = new LogLines(child.stdout!);
  const client = new Client('http://localhost', { socketPath });
  t.teardown(async () => {
    await client.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const ready = await log.ready().catch((err: Error) => Promise.reject(new Error(`${err.message}\nstderr: ${stderr}`)));
  t.match(ready, { level: 'info', msg: `infergate worker listening on unix:${socketPath}`, process: 'worker', worker: 'worker', address: `unix:${socketPath}` }, 'logs one ready line');
  t.same(log.lines, [ready], 'and nothing else while starting');
  return { child, socketPath, client, stderr: () => stderr, exited };
}

async function call(client: Client, method: 'GET' | 'POST', path: string, body?: Uint8Array) {
  const res = await client.request({ method, path, body, headers: body ? { 'content-type': FRAME_CONTENT_TYPE } : {} });
  const bytes = new Uint8Array(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, json: () => JSON.parse(Buffer.from(bytes).toString()) };
}

/** mulberry32: seeded inputs keep a failure reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function fp32(name: string, shape: number[], next: () => number): Tensor {
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1);
  return { name, datatype: 'FP32', shape, data: new Uint8Array(values.buffer) };
}

function int64(name: string, shape: number[], values: bigint[]): Tensor {
  return { name, datatype: 'INT64', shape, data: new Uint8Array(BigInt64Array.from(values).buffer) };
}

/** The same request run by onnxruntime in this process: name → [shape, bytes]. */
async function direct(model: string, version: string, inputs: Tensor[], outputs?: string[]) {
  const session = await ort.InferenceSession.create(join(repository, model, version, 'model.onnx'), SESSION_OPTIONS);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const x of inputs) {
      const data = x.datatype === 'INT64' ? new BigInt64Array(x.data.slice().buffer) : new Float32Array(x.data.slice().buffer);
      feeds[x.name] = new ort.Tensor(x.datatype === 'INT64' ? 'int64' : 'float32', data, x.shape);
    }
    const results = outputs ? await session.run(feeds, outputs) : await session.run(feeds);
    return Object.fromEntries(
      (outputs ?? session.outputNames).map((name) => {
        const value = results[name] as ort.Tensor;
        const typed = value.data as Float32Array;
        return [name, { shape: [...value.dims], bytes: Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength) }];
      }),
    );
  } finally {
    await session.release();
  }
}

function inferFrame(model: string, version: string, inputs: Tensor[], outputs?: string[]): Buffer {
  return encodeFrame<InferRequestHeader>(outputs ? { model, version, outputs } : { model, version }, inputs);
}

function rankerInputs(rows: number, next: () => number, itemIds?: bigint[]): Tensor[] {
  const ids = itemIds ?? Array.from({ length: rows * 4 }, () => BigInt(Math.floor(next() * 1000)));
  return [fp32('features', [rows, 16], next), int64('item_ids', [rows, 4], ids)];
}

t.test('a worker over the demo models', async (t) => {
  const worker = await startWorker(t);
  const { client } = worker;

  t.test('health and the models it serves, as onnxruntime reads them', async (t) => {
    t.equal((await call(client, 'GET', '/health/live')).status, 200);
    const ready = await call(client, 'GET', '/health/ready');
    t.same([ready.status, ready.json()], [200, { ready: true, state: 'ready' }]);
    const body = (await call(client, 'GET', '/models')).json() as WorkerModelsBody;
    t.same([body.unavailable, body.warnings], [[], []], 'every demo model loads and warms up');
    for (const m of body.models) {
      const digest = createHash('sha256').update(readFileSync(join(repository, m.name, m.version, 'model.onnx'))).digest('hex');
      t.equal(m.fingerprint, digest, `${m.name} ${m.version}: fingerprint is the SHA-256 of its file`);
    }
    const models = body.models.map(({ fingerprint: _, ...rest }) => rest);
    const fp = (name: string, shape: number[]) => ({ name, datatype: 'FP32', shape });
    t.same(models, [
      { name: 'classifier', version: '1', inputs: [fp('input', [-1, 64])], outputs: [fp('probabilities', [-1, 10])] },
      { name: 'classifier', version: '2', inputs: [fp('input', [-1, 64])], outputs: [fp('probabilities', [-1, 10])] },
      { name: 'heavy', version: '1', inputs: [fp('input', [-1, 512])], outputs: [fp('logits', [-1, 10])] },
      { name: 'pooler', version: '1', inputs: [fp('tokens', [-1, -1, 8])], outputs: [fp('pooled', [-1, 4])] },
      {
        name: 'ranker',
        version: '1',
        inputs: [fp('features', [-1, 16]), { name: 'item_ids', datatype: 'INT64', shape: [-1, 4] }],
        outputs: [fp('embedding', [-1, 16]), fp('score', [-1, 1])],
      },
    ]);
  });

  t.test('binary infer answers exactly what onnxruntime answers in-process', async (t) => {
    const next = random(42);
    const cases: Array<[string, string, Tensor[], string[] | undefined]> = [];
    for (const rows of [1, 3, 16]) {
      cases.push(['classifier', '1', [fp32('input', [rows, 64], next)], undefined]);
      cases.push(['classifier', '2', [fp32('input', [rows, 64], next)], undefined]);
      cases.push(['heavy', '1', [fp32('input', [rows, 512], next)], undefined]);
      cases.push(['ranker', '1', rankerInputs(rows, next), undefined]);
    }
    cases.push(['ranker', '1', rankerInputs(2, next), ['score']], ['ranker', '1', rankerInputs(2, next), ['score', 'embedding']]);

    // Sent concurrently: the worker may interleave them; answers must not mix.
    const answers = await Promise.all(cases.map(([model, version, inputs, outputs]) => call(client, 'POST', '/infer', inferFrame(model, version, inputs, outputs))));
    for (const [i, [model, version, inputs, outputs]] of cases.entries()) {
      const label = `${model} v${version} ${JSON.stringify(inputs[0]!.shape)}${outputs ? ` outputs ${outputs}` : ''}`;
      const answer = answers[i]!;
      t.equal(answer.status, 200, label);
      t.equal(answer.headers['content-type'], FRAME_CONTENT_TYPE);
      const { header, tensors } = decodeFrame<InferResponseHeader>(answer.bytes);
      t.same([header.model, header.version], [model, version]);
      const expected = await direct(model, version, inputs, outputs);
      t.same(tensors.map((x) => x.name), Object.keys(expected), `${label}: outputs, in the order asked for`);
      for (const tensor of tensors) {
        t.equal(tensor.datatype, 'FP32');
        t.same(tensor.shape, expected[tensor.name]!.shape, `${label} ${tensor.name} shape`);
        t.ok(Buffer.from(tensor.data).equals(expected[tensor.name]!.bytes), `${label} ${tensor.name} bytes equal onnxruntime's`);
      }
    }
  });

  t.test('a model failure is the client\'s 400 and the next request succeeds', async (t) => {
    const next = random(7);
    const bad = await call(client, 'POST', '/infer', inferFrame('ranker', '1', rankerInputs(1, next, [1n, 2n, 5000n, 3n])));
    t.equal(bad.status, 400);
    t.equal(bad.json().code, 'GW_ERR_MODEL_EXECUTION');
    t.type(bad.json().message, 'string');
    const good = await call(client, 'POST', '/infer', inferFrame('ranker', '1', rankerInputs(1, next)));
    t.equal(good.status, 200);
  });

  t.test('requests the signature rules out never reach onnxruntime', async (t) => {
    const next = random(9);
    const cases: Array<[string, Buffer, number, string]> = [
      ['unknown model', inferFrame('nope', '1', [fp32('input', [1, 64], next)]), 404, 'GW_ERR_MODEL_NOT_FOUND'],
      ['unknown version', inferFrame('classifier', '9', [fp32('input', [1, 64], next)]), 404, 'GW_ERR_VERSION_NOT_FOUND'],
      ['unknown input', inferFrame('classifier', '1', [fp32('x', [1, 64], next)]), 400, 'GW_ERR_UNKNOWN_INPUT'],
      ['missing input', inferFrame('ranker', '1', [fp32('features', [1, 16], next)]), 400, 'GW_ERR_MISSING_INPUT'],
      ['wrong datatype', inferFrame('ranker', '1', [fp32('features', [1, 16], next), fp32('item_ids', [1, 4], next)]), 400, 'GW_ERR_DATATYPE_MISMATCH'],
      ['wrong static dim', inferFrame('classifier', '1', [fp32('input', [1, 63], next)]), 400, 'GW_ERR_SHAPE_MISMATCH'],
      ['wrong rank', inferFrame('classifier', '1', [fp32('input', [64], next)]), 400, 'GW_ERR_SHAPE_MISMATCH'],
      ['unknown output', inferFrame('classifier', '1', [fp32('input', [1, 64], next)], ['logits']), 400, 'GW_ERR_UNKNOWN_OUTPUT'],
      [
        'bytes short of the shape',
        inferFrame('classifier', '1', [{ ...fp32('input', [1, 64], next), shape: [2, 64] }]),
        400,
        'GW_ERR_BAD_FRAME',
      ],
    ];
    for (const [name, frame, status, code] of cases) {
      const answer = await call(client, 'POST', '/infer', frame);
      t.same([answer.status, answer.json().code], [status, code], name);
    }
    const latest = await call(client, 'POST', '/infer', inferFrame('classifier', '', [fp32('input', [1, 64], next)]));
    t.equal(decodeFrame<InferResponseHeader>(latest.bytes).header.version, '2', "version '' runs the highest version");
  });
});

/** A POST /infer whose headers are sent now and body later; `continued` resolves once the worker has taken the request. */
function pendingInfer(socketPath: string, frame: Buffer) {
  const req = httpRequest({
    socketPath,
    method: 'POST',
    path: '/infer',
    agent: false,
    headers: { 'content-type': FRAME_CONTENT_TYPE, 'content-length': frame.byteLength, expect: '100-continue' },
  });
  const response = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  // Node's server answers "100 Continue" as it emits 'request': from then on the request is in flight.
  const continued = once(req, 'continue');
  req.flushHeaders();
  return { continued, response, send: () => req.end(frame) };
}

t.test('SIGTERM lets in-flight requests finish, then the worker exits 0', async (t) => {
  const worker = await startWorker(t, ['--model', 'heavy', '--drain-timeout-ms', '20000']);
  const next = random(3);
  const inputs = [0, 1, 2].map(() => [fp32('input', [64, 512], next)]);
  const pending = inputs.map((x) => pendingInfer(worker.socketPath, inferFrame('heavy', '1', x)));
  await Promise.all(pending.map((p) => p.continued));

  worker.child.kill('SIGTERM');
  for (const p of pending) p.send();
  const answers = await Promise.all(pending.map((p) => p.response));
  for (const [i, answer] of answers.entries()) {
    t.equal(answer.status, 200, `in-flight request ${i} completes`);
    const { tensors } = decodeFrame<InferResponseHeader>(answer.body);
    const expected = await direct('heavy', '1', inputs[i]!);
    t.ok(Buffer.from(tensors[0]!.data).equals(expected.logits!.bytes), `in-flight request ${i} answer is right`);
  }
  t.equal(await worker.exited, 0, 'exit code 0');
  t.equal(worker.stderr(), '', 'nothing on stderr');
});

t.test('a version that cannot load is unavailable; the worker serves the others and stays up', async (t) => {
  const mixed = join(dir, 'mixed');
  mkdirSync(join(mixed, 'bad', '1'), { recursive: true });
  writeFileSync(join(mixed, 'bad', '1', 'model.onnx'), 'not an onnx model');
  mkdirSync(join(mixed, 'classifier'), { recursive: true });
  cpSync(join(repository, 'classifier', '1'), join(mixed, 'classifier', '1'), { recursive: true });
  mkdirSync(join(mixed, 'classifier', '2'));
  // Both versions served, so that 2 (no model.onnx) is tried and found missing.
  writeFileSync(join(mixed, 'classifier', 'config.yaml'), 'versionPolicy: all\n');
  const socketPath = join(dir, `w${workerCount++}.sock`);
  const child = spawn(process.execPath, [WORKER_MAIN, '--listen', `unix:${socketPath}`, '--models', mixed, ...SESSION_ARGS], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = new LogLines(child.stdout);
  const client = new Client('http://localhost', { socketPath });
  t.teardown(async () => {
    await client.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await log.ready();
  t.pass('ready although a model cannot load');
  const body = (await call(client, 'GET', '/models')).json() as WorkerModelsBody;
  t.same(body.models.map((m) => `${m.name}/${m.version}`), ['classifier/1']);
  t.same(body.unavailable.map((u) => `${u.name}/${u.version}`), ['bad/1', 'classifier/2']);
  t.match(body.unavailable[0]!.reason, /bad\/1\/model\.onnx: not an ONNX model: protobuf decoding failed: invalid wire type/);
  t.match(body.unavailable[1]!.reason, /classifier\/2\/model\.onnx is missing/);
  t.match(
    log.lines.find((l) => l.model === 'bad'),
    { level: 'warn', model: 'bad', version: '1', reason: /not an ONNX model/, msg: 'model bad version 1 is unavailable' },
    'a standalone worker logs it',
  );
  const refused = await call(client, 'POST', '/infer', inferFrame('bad', '1', [fp32('x', [1, 4], random(1))]));
  t.same([refused.status, refused.json().code], [400, 'GW_ERR_MODEL_UNAVAILABLE']);
  const served = await call(client, 'POST', '/infer', inferFrame('classifier', '1', [fp32('input', [1, 64], random(2))]));
  t.equal(served.status, 200, 'the loadable version serves');
  t.equal(child.exitCode, null, 'still running');
});

t.test('start-up failures: exit 1 for the repository (a fatal log line), 2 for flags (on stderr)', async (t) => {
  const emptyRepository = join(dir, 'empty');
  mkdirSync(emptyRepository, { recursive: true });
  const cases: Array<[string, string[], number, RegExp]> = [
    ['unknown model', ['--models', repository, '--model', 'nosuch'], 1, /cannot load models: model "nosuch" is not in/],
    ['missing repository', ['--models', join(dir, 'none')], 1, /cannot load models: model repository .* cannot be read/],
    ['empty repository', ['--models', emptyRepository], 1, /cannot load models: model repository .* has no <name>\/<version>\/model\.onnx/],
    ['bad flag value', ['--models', repository, '--execution-mode', 'fast'], 2, /--execution-mode: "fast" is not one of/],
  ];
  await Promise.all(
    cases.map(async ([name, args, code, message]) => {
      const child = spawn(process.execPath, [WORKER_MAIN, '--listen', `unix:${join(dir, `fail${workerCount++}.sock`)}`, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      const log = new LogLines(child.stdout);
      const [exitCode] = (await once(child, 'exit')) as [number | null];
      await log.waitFor(() => false).catch(() => {}); // the rest of the output
      t.equal(exitCode, code, `${name}: exit ${code}`);
      if (code === 2) {
        t.match(stderr, message, `${name}: says why on stderr`);
        t.same(log.lines, [], `${name}: logs nothing`);
      } else {
        t.match(log.lines, [{ level: 'fatal', msg: message }], `${name}: says why`);
        t.equal(stderr, '', `${name}: nothing on stderr`);
      }
      t.notOk(log.lines.some((l) => /listening on/.test(String(l.msg))), `${name}: never claims to listen`);
    }),
  );
});

t.test('TCP listen on port 0 reports the port it bound', async (t) => {
  const child = spawn(process.execPath, [WORKER_MAIN, '--listen', '127.0.0.1:0', '--models', repository, '--model', 'classifier', ...SESSION_ARGS], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const line = await new LogLines(child.stdout).ready();
  const match = /^infergate worker listening on 127\.0\.0\.1:(\d+)$/.exec(String(line.msg));
  t.ok(match, String(line.msg));
  const client = new Client(`http://127.0.0.1:${match![1]}`);
  t.teardown(() => client.destroy());
  const { models } = (await call(client, 'GET', '/models')).json() as WorkerModelsBody;
  t.same(models.map((m) => `${m.name}/${m.version}`), ['classifier/1', 'classifier/2']);
  child.kill('SIGINT');
  t.same(await exited, [0, null], 'SIGINT drains and exits 0');
});

t.test('the public KServe v2 JSON route answers like the gateway', async (t) => {
  const worker = await startWorker(t, ['--model', 'classifier']);
  const next = random(11);
  const input = fp32('input', [2, 64], next);
  const expected = await direct('classifier', '1', [input]);
  const post = async (path: string, body: unknown) => {
    const res = await worker.client.request({ method: 'POST', path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  const data = Array.from(new Float32Array(input.data.slice().buffer));
  const ok = await post('/v2/models/classifier/versions/1/infer', { id: 'a', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data }] });
  t.equal(ok.status, 200);
  t.equal(ok.json.id, 'a');
  t.equal(ok.json.model_version, '1');
  const want = expected.probabilities!.bytes;
  t.same(Float32Array.from(ok.json.outputs[0].data), new Float32Array(want.buffer.slice(want.byteOffset, want.byteOffset + want.byteLength)), 'same numbers as onnxruntime');
  const latest = await post('/v2/models/classifier/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data }] });
  t.equal(latest.json.model_version, '2', 'no version means the latest');

  const table: Array<[string, unknown, number, string]> = [
    ['/v2/models/nope/infer', { inputs: [] }, 404, 'GW_ERR_MODEL_NOT_FOUND'],
    ['/v2/models/classifier/versions/7/infer', { inputs: [] }, 404, 'GW_ERR_VERSION_NOT_FOUND'],
    ['/v2/models/classifier/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: [1] }] }, 400, 'GW_ERR_ELEMENT_COUNT'],
  ];
  for (const [path, body, status, code] of table) {
    const answer = await post(path, body);
    t.equal(answer.status, status, path);
    t.equal(answer.json.code, code);
    t.type(answer.json.error, 'string', 'errors use the {"error"} body');
  }
});
