// A worker told to load only some versions of a model (--model name:v1,v2,
// written by workerArgv): a real worker process over real ONNX files. It
// loads and lists only those versions, reports a named version the
// repository lacks as unavailable (and keeps serving), and "no version"
// means the highest it loaded, compared as numbers (10 > 2).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Client } from 'undici';
import { decodeFrame, encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type InferResponseHeader, type Tensor, type WorkerModelsBody } from '../../common/wire.ts';
import { encodeModel, node, valueInfo } from '../../scripts/demo-models/onnx-builder.ts';
import { workerArgv, type WorkerSpawnOptions } from '../../common/worker-options.ts';
import { writeModel } from '../helpers/test-models.ts';
import type { LogLines } from './log-lines.ts';
import { spawnWorker } from './spawned-worker.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-versions-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const repository = join(dir, 'models');
const identity = encodeModel({ name: 'identity', nodes: [node('Identity', ['x'], ['y'])], initializers: [], inputs: [valueInfo('x', 'float32', ['batch', 4])], outputs: [valueInfo('y', 'float32', ['batch', 4])] });
for (const version of ['1', '2', '10']) writeModel(repository, 'echo', version, identity);
writeModel(repository, 'other', '1', identity);

let workers = 0;

/** Spawns a worker from typed options; resolves with a client once it printed its ready line. */
async function startWorker(t: Test, models: WorkerSpawnOptions['models']): Promise<{ client: Client; log: LogLines; exitCode: () => number | null }> {
  const socketPath = join(dir, `w${workers++}.sock`);
  const argv = workerArgv({ listen: { kind: 'unix', path: socketPath }, modelsDir: repository, models, session: { intraOpThreads: 1 } });
  const { client, log, exitCode } = await spawnWorker(t, socketPath, argv);
  t.pass(`ready: ${argv.join(' ')}`);
  return { client, log, exitCode };
}

async function models(client: Client): Promise<{ served: string[]; unavailable: WorkerModelsBody['unavailable'] }> {
  const res = await client.request({ method: 'GET', path: '/models' });
  const body = (await res.body.json()) as WorkerModelsBody;
  return { served: body.models.map((m) => `${m.name}/${m.version}`), unavailable: body.unavailable };
}

/** POST /infer of one row; the status, and the version that ran or the error code. */
async function infer(client: Client, model: string, version: string): Promise<[number, string]> {
  const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 4], data: new Uint8Array(16) };
  const body = encodeFrame<InferRequestHeader>({ model, version }, [x]);
  const res = await client.request({ method: 'POST', path: '/infer', body, headers: { 'content-type': FRAME_CONTENT_TYPE } });
  const bytes = new Uint8Array(await res.body.arrayBuffer());
  if (res.statusCode !== 200) return [res.statusCode, JSON.parse(Buffer.from(bytes).toString()).code];
  return [200, decodeFrame<InferResponseHeader>(bytes).header.version];
}

t.test('only the versions named load and are listed; the latest is the highest of them by number', async (t) => {
  const { client } = await startWorker(t, [{ name: 'echo', versions: ['2', '10'] }]);
  t.same(await models(client), { served: ['echo/2', 'echo/10'], unavailable: [] });
  const table: Array<[string, string, [number, string]]> = [
    ['echo', '', [200, '10']],
    ['echo', '2', [200, '2']],
    ['echo', '1', [404, 'GW_ERR_VERSION_NOT_FOUND']],
    ['other', '1', [404, 'GW_ERR_MODEL_NOT_FOUND']],
  ];
  for (const [model, version, expected] of table) t.same(await infer(client, model, version), expected, `${model} version "${version}"`);
  const res = await client.request({ method: 'POST', path: '/v2/models/echo/infer', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }), headers: { 'content-type': 'application/json' } });
  t.equal(((await res.body.json()) as { model_version: string }).model_version, '10', 'the KServe route picks the same latest version');
});

t.test('a named version the repository lacks is unavailable with its reason; the rest serve', async (t) => {
  const worker = await startWorker(t, [{ name: 'echo', versions: ['1', '7'] }, { name: 'other' }]);
  const { served, unavailable } = await models(worker.client);
  t.same(served, ['echo/1', 'other/1'], 'version 10 is not loaded: it was not named');
  t.same(unavailable.map((u) => `${u.name}/${u.version}`), ['echo/7']);
  t.match(unavailable[0]!.reason, /version 7 is not in the repository \(no .*echo\/7\/ directory\)/);
  t.match(
    worker.log.lines.find((l) => l.level === 'warn'),
    { model: 'echo', version: '7', reason: /version 7 is not in the repository/, msg: 'model echo version 7 is unavailable' },
    'a standalone worker logs it',
  );
  const table: Array<[string, string, [number, string]]> = [
    ['echo', '7', [400, 'GW_ERR_MODEL_UNAVAILABLE']],
    ['echo', '10', [404, 'GW_ERR_VERSION_NOT_FOUND']],
    ['echo', '', [200, '1']],
    ['other', '', [200, '1']],
  ];
  for (const [model, version, expected] of table) t.same(await infer(worker.client, model, version), expected, `${model} version "${version}"`);
  t.equal(worker.exitCode(), null, 'still running');
});
