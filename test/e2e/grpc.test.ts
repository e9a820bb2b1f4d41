// The KServe v2 gRPC front against real workers, driven by a client that
// @grpc/proto-loader builds at run time from the gateway's .proto (no
// hand-written framing): health and metadata as REST gives them, answers
// bit-identical to REST's for raw and typed tensors, every error class as its
// gRPC status with the catalogued code, grpc-timeout as the deadline, 1000
// requests on one ModelStreamInfer stream, and the repository and
// configuration RPCs.

import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import t from 'tap';
import { binaryFloatRequest, getJson, postBinary, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

const PROTOS = fileURLToPath(new URL('../../gateway/grpc/protos/', import.meta.url));
const grpcPort = await freePort();
// One worker: a large request occupies it, and a small one then waits in the queue (the deadline test).
const { gateway, url } = await startGateway(t, { server: { grpcPort }, models: { defaultReplicas: 1 }, cache: { enabled: false } });

const definition = loadSync('grpc_service.proto', { includeDirs: [PROTOS], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
type GrpcClient = Client & Record<string, (...args: unknown[]) => unknown>;
const Service = (loadPackageDefinition(definition).inference as unknown as { GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => GrpcClient }).GRPCInferenceService;
const client = new Service(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
t.teardown(() => client.close());

/** A unary call as a promise; `deadlineMs` from now, when given. */
function call<T = any>(method: string, request: object, options: { deadlineMs?: number; metadata?: Metadata } = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    client[method]!(request, options.metadata ?? new Metadata(), callOptions, (err: ServiceError | null, response: T) => (err ? reject(err) : resolve(response)));
  });
}

async function refused(t: { equal: Function; same: Function; fail: Function }, promise: Promise<unknown>, code: status, catalogued: string | undefined, what: string): Promise<ServiceError> {
  try {
    await promise;
    t.fail(`${what}: answered`);
    return undefined as never;
  } catch (err) {
    const error = err as ServiceError;
    t.equal(error.code, code, `${what}: status ${status[error.code]} (${error.details})`);
    if (catalogued) t.same(error.metadata.get('infergate-error-code'), [catalogued], `${what}: ${catalogued}`);
    return error;
  }
}

const random = seededRandom(17);
const rawFloats = (values: readonly number[]) => Buffer.from(Float32Array.from(values).buffer);
const floatsOf = (bytes: Uint8Array) => new Float32Array(Uint8Array.prototype.slice.call(bytes).buffer);

t.test('health and metadata say what REST says', async (t) => {
  t.same(await call('ServerLive', {}), { live: true });
  t.same(await call('ServerReady', {}), { ready: true });
  const server = await call('ServerMetadata', {});
  t.equal(server.name, 'infergate');
  t.same(await call('ModelReady', { name: 'classifier', version: '' }), { ready: true });
  const meta = await call('ModelMetadata', { name: 'classifier', version: '' });
  const rest = (await getJson(`${url}/v2/models/classifier`)).body;
  t.same({ ...meta, inputs: meta.inputs, outputs: meta.outputs }, rest, 'ModelMetadata is the REST metadata');
  const config = (await call('ModelConfig', { name: 'classifier', version: '' })).config;
  t.equal(config.name, 'classifier');
  t.equal(config.max_batch_size, 64, 'batching on: the first dimension is the batch');
  t.same(config.input.map((i: { name: string; data_type: string; dims: number[] }) => [i.name, i.data_type, i.dims]), [['input', 'TYPE_FP32', [64]]]);
  t.equal(config.scheduling_choice, 'dynamic_batching');
});

t.test('raw and typed tensors give answers bit-identical to the REST path', async (t) => {
  const rows = Array.from({ length: 3 }, () => randomFloats(random, 64));
  const flat = rows.flat();
  const rest = (await postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 64], data: flat }] })).body;
  const restProbabilities = Float32Array.from(rest.outputs[0].data as number[]);

  const raw = await call('ModelInfer', { model_name: 'classifier', id: 'r-1', inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 64] }], raw_input_contents: [rawFloats(flat)] });
  t.equal(raw.id, 'r-1', 'the id comes back');
  t.equal(raw.model_version, rest.model_version);
  t.same(raw.outputs.map((o: { name: string; datatype: string; shape: number[] }) => [o.name, o.datatype, o.shape]), [['probabilities', 'FP32', [3, 10]]]);
  t.same(floatsOf(raw.raw_output_contents[0]), restProbabilities, 'raw in, raw out: the same float32 bits');

  const typed = await call('ModelInfer', { model_name: 'classifier', inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 64], contents: { fp32_contents: flat } }] });
  t.same(typed.raw_output_contents, [], 'typed in, typed out');
  t.same(Float32Array.from(typed.outputs[0].contents.fp32_contents), restProbabilities, 'the same float32 values');

  const asked = await call('ModelInfer', { model_name: 'classifier', parameters: { binary_data_output: { bool_param: true } }, inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 64], contents: { fp32_contents: flat } }] });
  t.same(floatsOf(asked.raw_output_contents[0]), restProbabilities, 'typed in, raw out when asked');

  const ranker = { features: randomFloats(random, 16), item_ids: [3, 1, 4, 1] };
  const restRanker = (await postJson(`${url}/v2/models/ranker/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 16], data: ranker.features }, { name: 'item_ids', datatype: 'INT64', shape: [1, 4], data: ranker.item_ids }] })).body;
  const grpcRanker = await call('ModelInfer', {
    model_name: 'ranker',
    inputs: [
      { name: 'features', datatype: 'FP32', shape: [1, 16], contents: { fp32_contents: ranker.features } },
      { name: 'item_ids', datatype: 'INT64', shape: [1, 4], contents: { int64_contents: ranker.item_ids } },
    ],
  });
  for (const output of restRanker.outputs as Array<{ name: string; data: number[] }>) {
    const mine = grpcRanker.outputs.find((o: { name: string }) => o.name === output.name);
    t.same(Float32Array.from(mine.contents.fp32_contents), Float32Array.from(output.data), `ranker ${output.name}: an INT64 input in int64_contents`);
  }
});

t.test('every error class is its gRPC status, with the catalogued code', async (t) => {
  const one = { name: 'input', datatype: 'FP32', shape: [1, 64] };
  await refused(t, call('ModelInfer', { model_name: 'nope', inputs: [] }), status.NOT_FOUND, 'GW_ERR_MODEL_NOT_FOUND', 'unknown model');
  await refused(t, call('ModelInfer', { model_name: 'classifier', model_version: '9', inputs: [] }), status.NOT_FOUND, 'GW_ERR_VERSION_NOT_FOUND', 'unknown version');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [{ ...one, shape: [1, 63] }], raw_input_contents: [rawFloats(randomFloats(random, 63))] }), status.INVALID_ARGUMENT, 'GW_ERR_SHAPE_MISMATCH', 'wrong shape');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [one], raw_input_contents: [Buffer.alloc(10)] }), status.INVALID_ARGUMENT, 'GW_ERR_BINARY_DATA', 'raw bytes of the wrong size');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [one, one], raw_input_contents: [Buffer.alloc(256)] }), status.INVALID_ARGUMENT, 'GW_ERR_INVALID_REQUEST', 'raw contents for fewer inputs');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [{ ...one, contents: { int_contents: Array(64).fill(1) } }] }), status.INVALID_ARGUMENT, 'GW_ERR_INVALID_REQUEST', 'elements in another datatype\'s field');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [{ ...one, contents: { fp32_contents: [1, 2] } }] }), status.INVALID_ARGUMENT, 'GW_ERR_ELEMENT_COUNT', 'too few elements');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [{ ...one, datatype: 'FP64', contents: { fp64_contents: Array(64).fill(1) } }] }), status.INVALID_ARGUMENT, 'GW_ERR_DATATYPE_MISMATCH', 'wrong datatype');
  await refused(t, call('ModelInfer', { model_name: 'classifier', inputs: [{ ...one, shape: [1_000_000, 64] }], raw_input_contents: [Buffer.alloc(4)] }), status.RESOURCE_EXHAUSTED, 'GW_ERR_REQUEST_TOO_LARGE', 'over the row limit');
  await refused(t, call('ModelInfer', { model_name: 'classifier', outputs: [{ name: 'nope' }], inputs: [{ ...one, contents: { fp32_contents: randomFloats(random, 64) } }] }), status.INVALID_ARGUMENT, 'GW_ERR_UNKNOWN_OUTPUT', 'unknown output');
  await refused(t, call('ModelMetadata', { name: 'nope' }), status.NOT_FOUND, 'GW_ERR_MODEL_NOT_FOUND', 'metadata of an unknown model');
  // A client built from Triton's full .proto may call an RPC the gateway does not serve (shared memory).
  const unserved = new Promise((resolve, reject) =>
    client.makeUnaryRequest('/inference.GRPCInferenceService/SystemSharedMemoryStatus', () => Buffer.alloc(0), (b: Buffer) => b, {}, (err: ServiceError | null, value?: Buffer) => (err ? reject(err) : resolve(value))),
  );
  await refused(t, unserved, status.UNIMPLEMENTED, undefined, 'an RPC the gateway does not serve');
  t.equal((await postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ ...one, data: randomFloats(random, 64) }] })).status, 200, 'the gateway still serves');
});

t.test('grpc-timeout is the deadline: a request whose deadline passes while queued never reaches a worker', async (t) => {
  const [replica] = gateway.replicas.replicas;
  // Dropped at its deadline, refused up front for it, or taken out when the client's own deadline cancelled the call first.
  const deadlines = async () => {
    const rejects = (await getJson(`${url}/admin/batching`)).body['heavy/1']?.rejects;
    return rejects ? (rejects.deadline as number) + (rejects.expectedWait as number) + (rejects.cancelled as number) : 0;
  };
  const before = await deadlines();
  // The one worker busy with a large request; then a one-row request with 30 ms to live.
  const busy = postBinary(`${url}/v2/models/heavy/infer`, binaryFloatRequest(random, [1024, 512]));
  while (replica!.outstanding === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  await refused(t, call('ModelInfer', { model_name: 'heavy', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512] }], raw_input_contents: [rawFloats(randomFloats(random, 512))] }, { deadlineMs: 30 }), status.DEADLINE_EXCEEDED, undefined, 'deadline passed');
  t.equal((await busy).status, 200);
  t.ok(await until(async () => (await deadlines()) === before + 1, 5_000), 'the gateway dropped it from the queue by its deadline (it never ran)');
});

t.test('a client cancellation takes the request out of the queue: it never reaches a worker', async (t) => {
  const [replica] = gateway.replicas.replicas;
  const cancelledCount = async () => ((await getJson(`${url}/admin/batching`)).body['heavy/1']?.rejects.cancelled ?? 0) as number;
  const before = await cancelledCount();
  const busy = postBinary(`${url}/v2/models/heavy/infer`, binaryFloatRequest(random, [1024, 512]));
  while (replica!.outstanding === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const request = { model_name: 'heavy', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 512] }], raw_input_contents: [rawFloats(randomFloats(random, 512))] };
  const pending = new Promise<ServiceError>((resolve) => {
    const inFlight = client.ModelInfer!(request, new Metadata(), {}, (err: ServiceError | null) => resolve(err!)) as { cancel(): void };
    setTimeout(() => inFlight.cancel(), 20);
  });
  t.equal((await pending).code, status.CANCELLED, 'the client sees its own cancellation');
  t.ok(await until(async () => (await cancelledCount()) === before + 1, 5_000), 'the gateway took it out of the queue');
  t.equal((await busy).status, 200);
});

t.test('ModelStreamInfer: 1000 requests on one stream, answered in order, a bad one answered with its error', async (t) => {
  const stream = (client.ModelStreamInfer as () => NodeJS.ReadWriteStream & { write(m: object): boolean; end(): void })();
  const answers: Array<{ error_message: string; infer_response: { id: string; raw_output_contents: Buffer[] } | null }> = [];
  stream.on('data', (message: (typeof answers)[number]) => answers.push(message));
  const done = new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (let i = 0; i < 1000; i++) {
    const bad = i === 500;
    stream.write({ model_name: 'classifier', id: `s-${i}`, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, bad ? 3 : 64] }], raw_input_contents: [rawFloats(randomFloats(random, bad ? 3 : 64))] });
  }
  stream.end();
  await done;
  t.equal(answers.length, 1000, 'one answer per request');
  t.ok(answers.every((a, i) => i === 500 || a.infer_response?.id === `s-${i}`), 'in the order sent');
  t.match(answers[500]!.error_message, /shape/, 'the bad one carries its error, the stream goes on');
  t.equal(answers.filter((a) => a.error_message === '').length, 999);
});

t.test('statistics and the repository over gRPC', async (t) => {
  const stats = await call('ModelStatistics', { name: 'classifier', version: '' });
  const rest = (await getJson(`${url}/v2/models/classifier/stats`)).body;
  t.same(stats.model_stats.map((s: { version: string; inference_count: number }) => [s.version, s.inference_count]), rest.model_stats.map((s: { version: string; inference_count: number }) => [s.version, s.inference_count]), 'the REST statistics');
  const index = await call('RepositoryIndex', { ready: true });
  t.ok(index.models.some((m: { name: string; state: string }) => m.name === 'classifier' && m.state === 'READY'));
  t.same(await call('RepositoryModelUnload', { model_name: 'pooler' }), {});
  await refused(t, call('ModelReady', { name: 'pooler' }), status.NOT_FOUND, 'GW_ERR_MODEL_NOT_FOUND', 'unloaded');
  t.same(await call('RepositoryModelLoad', { model_name: 'pooler' }), {});
  t.same(await call('ModelReady', { name: 'pooler' }), { ready: true }, 'loaded again');
});

t.test('close drains: a call in flight is answered, a new one is refused', async (t) => {
  const [replica] = gateway.replicas.replicas;
  const inFlight = call('ModelInfer', { model_name: 'heavy', inputs: [{ name: 'input', datatype: 'FP32', shape: [256, 512] }], raw_input_contents: [rawFloats(randomFloats(random, 256 * 512))] });
  while (replica!.outstanding === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const closing = gateway.close();
  const answer = await inFlight;
  t.same(answer.outputs[0].shape.map(Number), [256, answer.outputs[0].shape.map(Number)[1]], 'the call in flight got its answer');
  await closing;
  const late = new Service(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
  t.teardown(() => late.close());
  const refusedLate = new Promise((resolve, reject) => late.ServerLive!({}, new Metadata(), { deadline: Date.now() + 2_000 }, (err: ServiceError | null) => (err ? reject(err) : resolve(null))));
  await refused(t, refusedLate, status.UNAVAILABLE, undefined, 'after close, nothing listens');
});
