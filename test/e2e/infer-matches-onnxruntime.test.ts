// Through the gateway, each demo model answers exactly what onnxruntime
// answers in-process for the same inputs, and its metadata is its ONNX
// signature as onnxruntime reads it.

import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

const { url, repository } = await startGateway(t);

async function session(model: string, version: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(repository, model, version, 'model.onnx'));
}

const KSERVE_OF_ORT: Record<string, string> = { float32: 'FP32', int64: 'INT64' };

t.test('server health and metadata', async (t) => {
  t.same((await getJson(`${url}/v2/health/live`)).status, 200);
  t.same((await getJson(`${url}/v2/health/ready`)).status, 200);
  const server = await getJson(`${url}/v2`);
  t.equal(server.status, 200);
  t.equal(server.body.name, 'infergate');
  t.type(server.body.version, 'string');
  t.ok(Array.isArray(server.body.extensions));
});

t.test('model metadata matches the ONNX signature', async (t) => {
  for (const [model, version, versions] of [['classifier', '2', ['1', '2']], ['heavy', '1', ['1']], ['ranker', '1', ['1']], ['pooler', '1', ['1']]] as const) {
    const direct = await session(model, version);
    const meta = await getJson(`${url}/v2/models/${model}`);
    t.equal(meta.status, 200, model);
    t.equal(meta.body.name, model);
    t.same(meta.body.versions, versions);
    t.equal(meta.body.platform, 'onnx_onnxv1');
    const expect = (list: readonly ort.InferenceSession.ValueMetadata[]) =>
      list.map((m) => ({
        name: m.name,
        datatype: m.isTensor ? KSERVE_OF_ORT[m.type] : '?',
        shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
      }));
    t.same(meta.body.inputs, expect(direct.inputMetadata), `${model} inputs`);
    t.same(meta.body.outputs, expect(direct.outputMetadata), `${model} outputs`);
    t.equal((await getJson(`${url}/v2/models/${model}/ready`)).status, 200);
    t.equal((await getJson(`${url}/v2/models/${model}/versions/${version}`)).body.name, model);
    await direct.release();
  }
  t.equal((await getJson(`${url}/v2/models/classifier/versions/1`)).status, 200);
});

type Case = { model: string; version?: string; inputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }> };

function cases(): Case[] {
  const random = seededRandom(1234);
  const list: Case[] = [];
  for (const rows of [1, 4, 16]) {
    list.push({ model: 'classifier', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] });
    list.push({ model: 'classifier', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: randomFloats(random, rows * 64) }] });
    list.push({ model: 'heavy', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 512], data: randomFloats(random, rows * 512) }] });
    list.push({ model: 'pooler', inputs: [{ name: 'tokens', datatype: 'FP32', shape: [rows, 3, 8], data: randomFloats(random, rows * 24) }] });
    list.push({
      model: 'ranker',
      inputs: [
        { name: 'features', datatype: 'FP32', shape: [rows, 16], data: randomFloats(random, rows * 16) },
        { name: 'item_ids', datatype: 'INT64', shape: [rows, 4], data: Array.from({ length: rows * 4 }, () => Math.floor(random() * 1000)) },
      ],
    });
  }
  return list;
}

t.test('infer returns exactly what onnxruntime returns', async (t) => {
  const sessions = new Map<string, ort.InferenceSession>();
  for (const c of cases()) {
    const version = c.version ?? (c.model === 'classifier' ? '2' : '1');
    const key = `${c.model}/${version}`;
    if (!sessions.has(key)) sessions.set(key, await session(c.model, version));
    const direct = sessions.get(key)!;
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of c.inputs) {
      feeds[input.name] = input.datatype === 'INT64'
        ? new ort.Tensor('int64', BigInt64Array.from(input.data.map(BigInt)), input.shape)
        : new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
    }
    const expected = await direct.run(feeds);

    const path = c.version ? `/v2/models/${c.model}/versions/${c.version}/infer` : `/v2/models/${c.model}/infer`;
    const answer = await postJson(url + path, { id: `req-${key}-${c.inputs[0]!.shape[0]}`, inputs: c.inputs });
    const label = `${key} batch ${c.inputs[0]!.shape[0]}`;
    t.equal(answer.status, 200, label);
    t.equal(answer.body.model_name, c.model);
    t.equal(answer.body.model_version, version);
    t.equal(answer.body.id, `req-${key}-${c.inputs[0]!.shape[0]}`);
    t.same(answer.body.outputs.map((o: { name: string }) => o.name).sort(), Object.keys(expected).sort(), label);
    for (const output of answer.body.outputs) {
      const want = expected[output.name]!;
      t.same(output.shape, want.dims, `${label} ${output.name} shape`);
      t.equal(output.datatype, 'FP32');
      // JSON carries the float32 value as the shortest decimal that rounds back to it: compare bit for bit.
      t.same(Float32Array.from(output.data), want.data as Float32Array, `${label} ${output.name} bit-identical`);
    }
  }
  for (const s of sessions.values()) await s.release();
});

t.test('outputs selection returns only the named outputs', async (t) => {
  const random = seededRandom(9);
  const answer = await postJson(`${url}/v2/models/ranker/infer`, {
    inputs: [
      { name: 'features', datatype: 'FP32', shape: [2, 16], data: randomFloats(random, 32) },
      { name: 'item_ids', datatype: 'INT64', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] },
    ],
    outputs: [{ name: 'score' }],
    parameters: { note: 'accepted and ignored' },
  });
  t.equal(answer.status, 200);
  t.same(answer.body.outputs.map((o: { name: string }) => o.name), ['score']);
  t.same(answer.body.outputs[0].shape, [2, 1]);
});

t.test('a repeated request is answered from the result cache with the same answer', async (t) => {
  const random = seededRandom(21);
  const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data: randomFloats(random, 128) }] };
  const first = await postJson(`${url}/v2/models/classifier/infer`, body);
  const again = await postJson(`${url}/v2/models/classifier/infer`, body);
  t.equal(first.headers.get('x-infergate-cache'), 'miss');
  t.equal(again.headers.get('x-infergate-cache'), 'hit');
  t.same(again.body, first.body);
  const fresh = await postJson(`${url}/v2/models/classifier/infer`, body, { 'cache-control': 'no-cache' });
  t.equal(fresh.headers.get('x-infergate-cache'), 'bypass');
  t.same(fresh.body, first.body);
});
