// Body generators: unique bodies differ, pools repeat exactly N bodies,
// rows set the batch axis, JSON parses as KServe v2, binary decodes as a
// worker frame, KServe binary-extension bodies split at their header length,
// and gRPC bodies decode as ModelInferRequests.

import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import t from 'tap';
import { createBodySource, parseInputsMode } from '../../benchmarks/lib/bodies.ts';
import { decodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type TensorSpec } from '../../common/wire.ts';

const classifier: TensorSpec[] = [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }];
const ranker: TensorSpec[] = [
  { name: 'features', datatype: 'FP32', shape: [-1, 16] },
  { name: 'item_ids', datatype: 'INT64', shape: [-1, 4] },
];

t.test('unique JSON bodies are distinct KServe v2 requests with `rows` rows', async (t) => {
  const source = createBodySource({ format: 'json', model: 'classifier', version: '2', inputs: classifier, rows: 3, mode: 'unique', seed: 1 });
  t.equal(source.contentType, 'application/json');
  t.equal(source.pool, null);
  const bodies = Array.from({ length: 50 }, () => source.next() as string);
  t.equal(new Set(bodies).size, 50, 'all distinct');
  const parsed = JSON.parse(bodies[7]!);
  t.same(parsed.inputs[0].shape, [3, 64]);
  t.equal(parsed.inputs[0].data.length, 192);
  t.equal(parsed.inputs[0].data[0], 7 / 2 ** 24, 'the counter sits in the first value');
  t.ok(parsed.inputs[0].data.every((v: unknown) => typeof v === 'number'));
  t.equal(source.description.rows, 3);
  t.equal(source.description.inputs, 'unique');
});

t.test('unique binary bodies decode as frames and differ only in the first value', async (t) => {
  const source = createBodySource({ format: 'binary', model: 'classifier', version: '2', inputs: classifier, rows: 2, mode: 'unique', seed: 1 });
  t.equal(source.contentType, FRAME_CONTENT_TYPE);
  const a = decodeFrame<InferRequestHeader>(source.next() as Buffer);
  const b = decodeFrame<InferRequestHeader>(source.next() as Buffer);
  t.equal(a.header.model, 'classifier');
  t.equal(a.header.version, '2');
  t.same(a.tensors[0]!.shape, [2, 64]);
  const fa = new Float32Array(a.tensors[0]!.data.slice().buffer);
  const fb = new Float32Array(b.tensors[0]!.data.slice().buffer);
  t.equal(fa[0], 0);
  t.equal(fb[0], 1 / 2 ** 24);
  t.same(fa.slice(1), fb.slice(1), 'the rest is the template');
});

t.test('a pool of N repeats exactly N distinct bodies round-robin', async (t) => {
  for (const format of ['json', 'binary'] as const) {
    const source = createBodySource({ format, model: 'ranker', version: '1', inputs: ranker, rows: 1, mode: 4, seed: 9 });
    t.equal(source.pool?.length, 4);
    const sent = Array.from({ length: 12 }, () => Buffer.from(source.next()).toString('base64'));
    t.equal(new Set(sent).size, 4, `${format}: 4 distinct`);
    t.equal(sent[0], sent[4], `${format}: round-robin`);
  }
  const json = JSON.parse(createBodySource({ format: 'json', model: 'ranker', version: '1', inputs: ranker, rows: 2, mode: 1, seed: 9 }).next() as string);
  t.same(json.inputs[1].shape, [2, 4]);
  t.ok(json.inputs[1].data.every((v: number) => Number.isInteger(v) && v >= 0 && v < 1000), 'ids are valid embedding rows');
});

t.test('the same seed gives the same bodies', async (t) => {
  const make = (seed: number) => createBodySource({ format: 'json', model: 'm', version: '1', inputs: classifier, rows: 1, mode: 3, seed }).pool;
  t.same(make(5), make(5));
  t.not(make(5)![0], make(6)![0]);
});

t.test('inputs modes parse; bad ones and unusable models are refused', async (t) => {
  t.equal(parseInputsMode('unique'), 'unique');
  t.equal(parseInputsMode('pool:16'), 16);
  t.throws(() => parseInputsMode('pool:0'), /pool:N/);
  t.throws(() => parseInputsMode('some'), /pool:N/);
  const intsOnly: TensorSpec[] = [{ name: 'ids', datatype: 'INT64', shape: [-1, 4] }];
  t.throws(() => createBodySource({ format: 'json', model: 'ids', version: '1', inputs: intsOnly, rows: 1, mode: 'unique', seed: 1 }), /float input/);
  const strings: TensorSpec[] = [{ name: 's', datatype: 'BYTES', shape: [-1] }];
  t.throws(() => createBodySource({ format: 'json', model: 's', version: '1', inputs: strings, rows: 1, mode: 2, seed: 1 }), /not supported/);
});

t.test('unique binary-extension bodies: a JSON header of the given length, raw inputs, binary outputs asked for', async (t) => {
  const source = createBodySource({ format: 'kserve-binary', model: 'ranker', version: '1', inputs: ranker, rows: 2, mode: 'unique', seed: 1 });
  t.equal(source.headers['content-type'], 'application/octet-stream');
  const headerLength = Number(source.headers['inference-header-content-length']);
  const [a, b] = [source.next() as Buffer, source.next() as Buffer];
  const header = JSON.parse(a.subarray(0, headerLength).toString('utf8'));
  t.same(header.parameters, { binary_data_output: true });
  t.same(header.inputs.map((i: { name: string; shape: number[]; parameters: { binary_data_size: number } }) => [i.name, i.shape, i.parameters.binary_data_size]), [['features', [2, 16], 2 * 16 * 4], ['item_ids', [2, 4], 2 * 4 * 8]]);
  t.equal(a.byteLength, headerLength + 128 + 64, 'the header, then each input\'s bytes');
  t.equal(a.readFloatLE(headerLength), 0);
  t.equal(b.readFloatLE(headerLength), 1 / 2 ** 24, 'the counter sits in the first float');
  t.same(a.subarray(headerLength + 4), b.subarray(headerLength + 4), 'the rest is the template');
});

t.test('unique gRPC bodies are ModelInferRequests with raw_input_contents that differ only in the first value', async (t) => {
  const protos = fileURLToPath(new URL('../../gateway/grpc/protos/', import.meta.url));
  const definition = loadSync('grpc_service.proto', { includeDirs: [protos], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const decode = (definition['inference.GRPCInferenceService'] as unknown as Record<string, { requestDeserialize(b: Buffer): any }>).ModelInfer!.requestDeserialize;
  const source = createBodySource({ format: 'grpc-raw', model: 'ranker', version: '1', inputs: ranker, rows: 2, mode: 'unique', seed: 1 });
  const [a, b] = [decode(source.next() as Buffer), decode(source.next() as Buffer)];
  t.equal(a.model_name, 'ranker');
  t.same(a.inputs.map((i: { name: string; datatype: string; shape: string[] }) => [i.name, i.datatype, i.shape]), [['features', 'FP32', ['2', '16']], ['item_ids', 'INT64', ['2', '4']]]);
  t.same(a.raw_input_contents.map((r: Buffer) => r.byteLength), [128, 64]);
  const first = (m: { raw_input_contents: Buffer[] }) => m.raw_input_contents[0]!.readFloatLE(0);
  t.equal(first(a), 0);
  t.equal(first(b), 1 / 2 ** 24);
  t.same(a.raw_input_contents[0].subarray(4), b.raw_input_contents[0].subarray(4), 'the rest of the tensor is the template');
  t.same(a.raw_input_contents[1], b.raw_input_contents[1], 'other inputs too');
  t.equal(source.description.format, 'grpc-raw');
});
