// Model control modes with real workers. explicit: only the models named are
// loaded at start, and the API loads another into the running workers; poll:
// a new version directory is picked up within a poll period and a removed
// model is unloaded, while another model takes steady traffic. GET
// /admin/models shows each version's replicas and last load.

import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { captureLogger } from '../helpers/capture-logger.ts';
import { demoRepository, getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { writeModel } from '../helpers/test-models.ts';
import { until } from '../helpers/until.ts';

const repository = await demoRepository(t);
const random = seededRandom(21);
const classifierBody = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
const poolerBody = () => ({ inputs: [{ name: 'tokens', datatype: 'FP32', shape: [1, 4, 8], data: randomFloats(random, 32) }] });

t.test('explicit: only the models named load at start; the API loads another into the running workers', async (t) => {
  const { gateway, url } = await startGateway(t, { models: { controlMode: 'explicit', load: ['classifier'], defaultReplicas: 1 } }, repository);
  const pid = gateway.replicas.replicas[0]!.pid;
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, classifierBody())).status, 200);
  const absent = await postJson(`${url}/v2/models/pooler/infer`, poolerBody());
  t.same([absent.status, absent.body.code], [404, 'GW_ERR_MODEL_NOT_FOUND']);
  const index = (await postJson(`${url}/v2/repository/index`, {})).body as Array<{ name: string; state: string; reason?: string }>;
  t.same(index.find((e) => e.name === 'pooler'), { name: 'pooler', state: 'UNAVAILABLE', reason: 'unloaded' });

  t.equal((await postJson(`${url}/v2/repository/models/pooler/load`, {})).status, 200);
  const answer = await postJson(`${url}/v2/models/pooler/infer`, poolerBody());
  t.equal(answer.status, 200, JSON.stringify(answer.body).slice(0, 200));
  t.equal(gateway.replicas.replicas[0]!.pid, pid, 'loaded inside the running worker');
  const models = (await getJson(`${url}/admin/models`)).body.models as Array<{ name: string; versions: Array<{ state: string; replicas: string[]; lastLoadedAt: string | null; loadMs: number | null }> }>;
  const pooler = models.find((m) => m.name === 'pooler')!.versions[0]!;
  t.same([pooler.state, pooler.replicas], ['READY', ['worker-0']]);
  t.ok(pooler.lastLoadedAt !== null && pooler.loadMs !== null && pooler.loadMs >= 0, `last load ${pooler.lastLoadedAt}, took ${pooler.loadMs} ms`);
});

t.test('poll: a new version is picked up within a poll period, a removed model is unloaded; traffic elsewhere never fails', async (t) => {
  const classifierFile = readFileSync(join(repository, 'classifier', '1', 'model.onnx'));
  writeModel(repository, 'polled', '1', classifierFile, 'versionPolicy: all\n');
  const logs = captureLogger();
  const { url } = await startGateway(t, { models: { controlMode: 'poll', pollIntervalSeconds: 1, include: ['classifier', 'polled'], defaultReplicas: 1 } }, repository, logs.logger);
  let running = true;
  const statuses: number[] = [];
  const traffic = (async () => {
    while (running) statuses.push((await postJson(`${url}/v2/models/classifier/infer`, classifierBody())).status);
  })();

  type Answer = { status: number; code?: string };
  const polledAnswers: Answer[] = [];
  const ask = async (version: string): Promise<Answer> => {
    const answer = await postJson(`${url}/v2/models/polled${version ? `/versions/${version}` : ''}/infer`, classifierBody());
    polledAnswers.push({ status: answer.status, code: answer.body.code });
    return polledAnswers.at(-1)!;
  };
  mkdirSync(join(repository, 'polled', '2'));
  cpSync(join(repository, 'classifier', '2', 'model.onnx'), join(repository, 'polled', '2', 'model.onnx'));
  const startedMs = Date.now();
  const picked = await until(async () => (await ask('2')).status === 200, 10_000);
  const tookMs = Date.now() - startedMs;
  // The next poll (at most one period later) loads it; the load itself takes well under a second here.
  t.ok(picked && tookMs <= 1_000 + 3_000, `version 2 serves ${tookMs} ms after its directory appeared (poll period 1000 ms)`);
  if (!picked) t.comment(logs.text());
  // Until the poll sees the directory the version is unknown (404); once seen, a request waits for its load.
  t.same(polledAnswers.filter((a) => a.status !== 200 && a.code !== 'GW_ERR_VERSION_NOT_FOUND'), [], 'before it serves, version 2 is only unknown');

  rmSync(join(repository, 'polled'), { recursive: true });
  const gone = await until(async () => (await ask('')).code === 'GW_ERR_MODEL_NOT_FOUND', 10_000);
  t.ok(gone, 'a model whose directory went is unloaded');
  t.same(polledAnswers.filter((a) => a.status >= 500), [], 'no 5xx on the model that changed');

  running = false;
  await traffic;
  t.ok(statuses.length > 10, `${statuses.length} requests on the classifier meanwhile`);
  t.same(statuses.filter((s) => s !== 200), [], 'all answered 200');
});
