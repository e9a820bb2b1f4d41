// TF Serving's REST API on the real gateway, over real workers: model status
// and metadata in TF Serving's JSON, predict in the row and columnar formats
// giving bit-identical float32 outputs to the KServe v2 REST path for the
// same tensors (one input, two inputs of two datatypes, a rank-3 input; by
// version and by label), the same cache and metrics, and every error class
// as TF Serving's status with {"error"}.

import t from 'tap';
import { binaryFloatRequest, getJson, postBinary, postJson, randomFloats, seededRandom, startGateway, type JsonAnswer } from '../helpers/gateway.ts';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const { gateway, url } = await startGateway(t, { models: { include: ['classifier', 'ranker', 'pooler', 'heavy'], defaultReplicas: 1 }, server: { maxBodyBytes: MAX_BODY_BYTES }, limits: { maxRowsPerRequest: 1024 } });
const random = seededRandom(31);
const rows = (count: number, width: number) => Array.from({ length: count }, () => randomFloats(random, width));
const sentToWorkers = () => gateway.replicas.replicas.reduce((n, r) => n + r.completed + r.failed, 0);
/** The KServe answer computed afresh (not from the cache the TF Serving request filled). */
const kserve = (path: string, inputs: object[]) => postJson(`${url}/v2/models/${path}/infer`, { inputs }, { 'cache-control': 'no-cache' });
const f32 = (values: unknown) => Float32Array.from((values as number[][]).flat(Infinity as 1) as number[]);

t.test('model status and metadata, in TF Serving\'s JSON', async (t) => {
  const status = await getJson(`${url}/v1/models/classifier`);
  t.equal(status.status, 200);
  t.same(status.body.model_version_status, [
    { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
    { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
  ]);
  t.same((await getJson(`${url}/v1/models/classifier/versions/1`)).body.model_version_status.map((v: { version: string }) => v.version), ['1']);
  t.same((await getJson(`${url}/v1/models/classifier/labels/canary`)).body.model_version_status.map((v: { version: string }) => v.version), ['2'], 'a label is the version it names (config.yaml labels)');
  const metadata = await getJson(`${url}/v1/models/ranker/metadata`);
  t.equal(metadata.status, 200);
  t.same(metadata.body.model_spec, { name: 'ranker', signature_name: '', version: '1' });
  const signature = metadata.body.metadata.signature_def.signature_def.serving_default;
  t.equal(signature.method_name, 'tensorflow/serving/predict');
  t.same(signature.inputs.item_ids.dtype, 'DT_INT64');
  t.same(signature.inputs.features.tensor_shape.dim.map((d: { size: string }) => d.size), ['-1', '16']);
  t.same((await getJson(`${url}/v1/models/classifier/labels/stable/metadata`)).body.model_spec.version, '1');
});

t.test('predict: the same tensors give the KServe path\'s float32 outputs, bit for bit', async (t) => {
  const x = rows(3, 64);
  const restClassifier = await kserve('classifier', [{ name: 'input', datatype: 'FP32', shape: [3, 64], data: x.flat() }]);
  const expected = Float32Array.from(restClassifier.body.outputs[0].data);
  const instances = await postJson(`${url}/v1/models/classifier:predict`, { instances: x });
  t.equal(instances.status, 200);
  t.equal(instances.body.predictions.length, 3, 'one prediction per instance');
  t.same(f32(instances.body.predictions), expected, 'row format');
  const named = await postJson(`${url}/v1/models/classifier:predict`, { signature_name: 'serving_default', instances: x.map((input) => ({ input })) });
  t.same(f32(named.body.predictions), expected, 'row format, the input named');
  const columns = await postJson(`${url}/v1/models/classifier:predict`, { inputs: x });
  t.same(f32(columns.body.outputs), expected, 'columnar format');
  t.same(columns.body.outputs.map((r: number[]) => r.length), [10, 10, 10], 'nested as the output\'s shape');

  const features = rows(2, 16);
  const ids = [[3, 1, 4, 1], [5, 9, 2, 6]];
  const restRanker = await kserve('ranker', [{ name: 'features', datatype: 'FP32', shape: [2, 16], data: features.flat() }, { name: 'item_ids', datatype: 'INT64', shape: [2, 4], data: ids.flat() }]);
  const byName = Object.fromEntries((restRanker.body.outputs as Array<{ name: string; data: number[] }>).map((o) => [o.name, Float32Array.from(o.data)]));
  const rankerRows = await postJson(`${url}/v1/models/ranker:predict`, { instances: [0, 1].map((i) => ({ features: features[i], item_ids: ids[i] })) });
  t.equal(rankerRows.status, 200);
  t.same(Object.keys(rankerRows.body.predictions[0]), ['embedding', 'score'], 'several outputs: an object per row');
  t.same(f32(rankerRows.body.predictions.map((p: { embedding: number[] }) => p.embedding)), byName.embedding, 'ranker embedding (FP32 and INT64 inputs), rows');
  t.same(f32(rankerRows.body.predictions.map((p: { score: number[] }) => p.score)), byName.score, 'ranker score, rows');
  const rankerColumns = await postJson(`${url}/v1/models/ranker:predict`, { inputs: { item_ids: ids, features } });
  t.same(f32(rankerColumns.body.outputs.embedding), byName.embedding, 'ranker embedding, columns');
  t.same(f32(rankerColumns.body.outputs.score), byName.score, 'ranker score, columns');

  const tokens = [rows(5, 8), rows(5, 8)];
  const restPooler = await kserve('pooler', [{ name: 'tokens', datatype: 'FP32', shape: [2, 5, 8], data: tokens.flat(2) }]);
  const pooled = await postJson(`${url}/v1/models/pooler:predict`, { instances: tokens });
  t.same(f32(pooled.body.predictions), Float32Array.from(restPooler.body.outputs[0].data), 'a rank-3 input: instances of [5, 8]');
});

t.test('a large answer is rendered in time slices (sent chunked), bit-identical still', async (t) => {
  // 1024 rows of a 16-float embedding and a score: 68 KiB of tensors, over the sliced-rendering threshold.
  const features = rows(1024, 16);
  const ids = Array.from({ length: 1024 }, (_, i) => [i % 1000, (i * 7) % 1000, 1, 2]);
  const rest = await kserve('ranker', [{ name: 'features', datatype: 'FP32', shape: [1024, 16], data: features.flat() }, { name: 'item_ids', datatype: 'INT64', shape: [1024, 4], data: ids.flat() }]);
  const predicted = await postJson(`${url}/v1/models/ranker:predict`, { instances: features.map((f, i) => ({ features: f, item_ids: ids[i] })) });
  t.equal(predicted.status, 200);
  t.equal(predicted.headers.get('transfer-encoding'), 'chunked');
  t.equal(predicted.body.predictions.length, 1024);
  t.same(f32(predicted.body.predictions.map((p: { embedding: number[] }) => p.embedding)), Float32Array.from(rest.body.outputs[0].data), 'embedding');
  t.same(f32(predicted.body.predictions.map((p: { score: number[] }) => p.score)), Float32Array.from(rest.body.outputs[1].data), 'score');
});

t.test('versions and labels choose the version, as /v2/models/{m}/versions/{v} does', async (t) => {
  const x = rows(1, 64);
  for (const [path, version] of [['versions/1', '1'], ['versions/2', '2'], ['labels/stable', '1'], ['labels/canary', '2']] as const) {
    const rest = await kserve(`classifier/versions/${version}`, [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: x.flat() }]);
    const answer = await postJson(`${url}/v1/models/classifier/${path}:predict`, { instances: x });
    t.same(f32(answer.body.predictions), Float32Array.from(rest.body.outputs[0].data), `${path} is version ${version}`);
  }
});

t.test('the same infer path: one cache for both fronts, metrics under protocol="tfserving", headers as controls', async (t) => {
  const x = rows(2, 64);
  const first = await postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 64], data: x.flat() }] });
  t.equal(first.headers.get('x-infergate-cache'), 'miss');
  const hit = await postJson(`${url}/v1/models/classifier:predict`, { instances: x });
  t.equal(hit.headers.get('x-infergate-cache'), 'hit', 'the KServe request\'s answer serves the TF Serving one');
  t.same(f32(hit.body.predictions), Float32Array.from(first.body.outputs[0].data));
  const fresh = await postJson(`${url}/v1/models/classifier:predict`, { instances: x }, { 'cache-control': 'no-cache' });
  t.equal(fresh.headers.get('x-infergate-cache'), 'bypass', 'Cache-Control: no-cache asks for a fresh answer');
  t.equal((await postJson(`${url}/v1/models/classifier:predict`, { instances: x }, { 'x-infergate-priority': '9' })).status, 400, 'a priority beyond the levels is refused');
  const form = await postJson(`${url}/v1/models/classifier:predict`, JSON.stringify({ instances: rows(1, 64) }), { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(form.status, 200, 'curl -d\'s form content type is read as JSON, as TF Serving reads it');
  t.ok(form.headers.get('x-request-id'), 'the request id comes back');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /infergate_requests_total\{model="classifier",version="2",protocol="tfserving",status_class="2xx",code=""\} [1-9]/, 'counted under its protocol');
  t.match(metrics, /infergate_requests_total\{model="classifier",version="2",protocol="tfserving",status_class="4xx",code="GW_ERR_INVALID_REQUEST"\} 1/, 'its refusals too');
});

t.test('every error class is TF Serving\'s status with {"error"}, and bad input reaches no worker', async (t) => {
  const good = { instances: rows(1, 64) };
  const table: Array<{ name: string; path?: string; body: unknown; status: number; code: string; ran?: boolean }> = [
    { name: 'unknown model', path: '/v1/models/nope:predict', body: good, status: 404, code: 'GW_ERR_MODEL_NOT_FOUND' },
    { name: 'unknown version', path: '/v1/models/classifier/versions/9:predict', body: good, status: 404, code: 'GW_ERR_VERSION_NOT_FOUND' },
    { name: 'unknown label', path: '/v1/models/classifier/labels/beta:predict', body: good, status: 404, code: 'GW_ERR_VERSION_NOT_FOUND' },
    { name: 'malformed JSON', body: '{"instances": [', status: 400, code: 'GW_ERR_MALFORMED_JSON' },
    { name: 'another signature', body: { ...good, signature_name: 'classify_x' }, status: 400, code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'both formats', body: { ...good, inputs: good.instances }, status: 400, code: 'GW_ERR_INVALID_REQUEST' },
    { name: 'ragged instances', body: { instances: [randomFloats(random, 64), randomFloats(random, 63)] }, status: 400, code: 'GW_ERR_ELEMENT_COUNT' },
    { name: 'rows of the wrong width', body: { instances: rows(2, 32) }, status: 400, code: 'GW_ERR_SHAPE_MISMATCH' },
    { name: 'an input the model lacks', body: { inputs: { input: rows(1, 64), extra: [1] } }, status: 400, code: 'GW_ERR_UNKNOWN_INPUT' },
    { name: 'an input missing', path: '/v1/models/ranker:predict', body: { inputs: { features: rows(1, 16) } }, status: 400, code: 'GW_ERR_MISSING_INPUT' },
    { name: 'b64 for a float input', body: { instances: [[{ b64: 'AAAAAA==' }, ...randomFloats(random, 63)]] }, status: 400, code: 'GW_ERR_INVALID_DATA' },
    { name: 'over the row limit', body: { instances: rows(1025, 64) }, status: 413, code: 'GW_ERR_REQUEST_TOO_LARGE' },
    { name: 'body over the limit', body: { instances: rows(16, 64 * 1024) }, status: 413, code: 'GW_ERR_BODY_TOO_LARGE' },
    { name: ':classify (no such signature)', path: '/v1/models/classifier:classify', body: good, status: 404, code: 'GW_ERR_ROUTE_NOT_FOUND' },
    { name: 'an id the model cannot gather (onnxruntime refuses it)', path: '/v1/models/ranker:predict', body: { instances: [{ features: randomFloats(random, 16), item_ids: [5000, 1, 2, 3] }] }, status: 400, code: 'GW_ERR_MODEL_EXECUTION', ran: true },
  ];
  for (const row of table) {
    const before = sentToWorkers();
    const answer = await postJson(url + (row.path ?? '/v1/models/classifier:predict'), row.body);
    t.equal(answer.status, row.status, `${row.name}: status`);
    t.type(answer.body.error, 'string', `${row.name}: {"error"}, which TF Serving's clients read`);
    t.equal(answer.body.code, row.code, `${row.name}: the catalogued code beside it`);
    if (!row.ran) t.equal(sentToWorkers(), before, `${row.name}: no worker saw it`);
    t.equal((await postJson(`${url}/v1/models/classifier:predict`, good)).status, 200, `${row.name}: the next good request is served`);
  }
  const wrongMethod = await getJson(`${url}/v1/models/classifier:predict`);
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.get('allow'), 'POST');
  const unknown = await getJson(`${url}/v1/models/nope/metadata`);
  t.same([unknown.status, unknown.body.code], [404, 'GW_ERR_MODEL_NOT_FOUND']);
  t.same([(await getJson(`${url}/v1/models/nope`)).status, (await getJson(`${url}/v1/models/classifier/versions/9`)).status], [404, 404]);
});

t.test('the deadline: x-infergate-timeout-ms passes while the request waits for a busy worker → 504', async (t) => {
  const heavy = gateway.replicas.replicas.find((r) => r.serves('heavy'))!;
  const busy = postBinary(`${url}/v2/models/heavy/infer`, binaryFloatRequest(random, [1024, 512]));
  while (heavy.outstanding === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const late: JsonAnswer = await postJson(`${url}/v1/models/heavy:predict`, { instances: rows(1, 512) }, { 'x-infergate-timeout-ms': '30' });
  t.same([late.status, late.body.code], [504, 'GW_ERR_DEADLINE_EXCEEDED']);
  t.type(late.body.error, 'string');
  t.equal((await busy).status, 200);
});
