// Triton's HTTP extensions that its tools call, on the real gateway over real
// workers: the model configuration (GET /v2/models/{m}[/versions/{v}]/config,
// which perf_analyzer -i http and tritonclient's get_model_config read), and
// binary outputs asked for in a JSON request, for every output
// (binary_data_output) or per output (binary_data).

import t from 'tap';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';

const { url } = await startGateway(t, { models: { include: ['classifier', 'ranker'], defaultReplicas: 1 }, cache: { enabled: false } });
const random = seededRandom(41);

/** A JSON request whose answer may be binary: the body's head (Inference-Header-Content-Length bytes of JSON), then the tensors. */
async function postForBinary(path: string, body: object): Promise<{ status: number; headers: Headers; head: any; tail: Buffer }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length') ?? bytes.byteLength);
  return { status: res.status, headers: res.headers, head: JSON.parse(bytes.subarray(0, headerLength).toString()), tail: bytes.subarray(headerLength) };
}
const floatsOf = (bytes: Buffer) => new Float32Array(Uint8Array.prototype.slice.call(bytes).buffer);

t.test('the model configuration in Triton\'s JSON', async (t) => {
  const config = await getJson(`${url}/v2/models/classifier/config`);
  t.equal(config.status, 200);
  t.same(config.body, {
    name: 'classifier',
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: { all: {} },
    max_batch_size: 64,
    input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [64] }],
    output: [{ name: 'probabilities', data_type: 'TYPE_FP32', dims: [10] }],
    dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: 0 },
  }, 'batching on: max_batch_size and dims without the batch dimension; the config.yaml version policy');
  t.same((await getJson(`${url}/v2/models/classifier/versions/1/config`)).body.name, 'classifier');
  const ranker = (await getJson(`${url}/v2/models/ranker/config`)).body;
  t.same(ranker.input.map((i: { name: string; data_type: string; dims: number[] }) => [i.name, i.data_type, i.dims]), [['features', 'TYPE_FP32', [16]], ['item_ids', 'TYPE_INT64', [4]]]);
  t.same(ranker.version_policy, { latest: { num_versions: 1 } });
  const head = await fetch(`${url}/v2/models/classifier/config`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD as GET');
  for (const [path, code] of [['/v2/models/nope/config', 'GW_ERR_MODEL_NOT_FOUND'], ['/v2/models/classifier/versions/9/config', 'GW_ERR_VERSION_NOT_FOUND']] as const) {
    const refused = await getJson(`${url}${path}`);
    t.same([refused.status, refused.body.code], [404, code], path);
  }
  t.same((await getJson(`${url}/v2`)).body.extensions, ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'], 'GET /v2 lists it among the extensions served');
  const post = await postJson(`${url}/v2/models/classifier/config`, {});
  t.same([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);
});

t.test('binary_data_output: every output comes back as binary data, equal to the JSON answer', async (t) => {
  const inputs = [
    { name: 'features', datatype: 'FP32', shape: [2, 16], data: randomFloats(random, 32) },
    { name: 'item_ids', datatype: 'INT64', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] },
  ];
  const json = (await postJson(`${url}/v2/models/ranker/infer`, { inputs })).body;
  const binary = await postForBinary('/v2/models/ranker/infer', { inputs, parameters: { binary_data_output: true } });
  t.equal(binary.status, 200);
  t.equal(binary.headers.get('content-type'), 'application/octet-stream');
  t.same(binary.head.outputs.map((o: { name: string; parameters: object }) => [o.name, o.parameters]), [['embedding', { binary_data_size: 128 }], ['score', { binary_data_size: 8 }]]);
  t.same(floatsOf(binary.tail.subarray(0, 128)), Float32Array.from(json.outputs[0].data), 'embedding');
  t.same(floatsOf(binary.tail.subarray(128)), Float32Array.from(json.outputs[1].data), 'score');

  const mixed = await postForBinary('/v2/models/ranker/infer', { inputs, outputs: [{ name: 'score', parameters: { binary_data: true } }, { name: 'embedding' }] });
  t.same(mixed.head.outputs.map((o: { name: string }) => o.name), ['score', 'embedding'], 'in the order asked for');
  t.same(mixed.head.outputs[0].parameters, { binary_data_size: 8 });
  t.same(mixed.head.outputs[1].data, json.outputs[0].data, 'the output not asked as binary stays JSON');
  t.same(floatsOf(mixed.tail), Float32Array.from(json.outputs[1].data));
  const off = await postForBinary('/v2/models/ranker/infer', { inputs, parameters: { binary_data_output: true }, outputs: [{ name: 'score', parameters: { binary_data: false } }, { name: 'embedding' }] });
  t.same(off.head.outputs.map((o: { parameters?: object }) => o.parameters ?? null), [null, { binary_data_size: 128 }], 'binary_data: false on an output overrides binary_data_output');
});
