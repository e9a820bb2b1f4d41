import t from 'tap';
import type { ModelSignature, Tensor } from '../../../common/wire.ts';
import { decodePredictBody, decodePredictRequest, nestedShape } from '../../../gateway/http/tfserving-request.ts';
import { classifier, ranker } from '../../common/kserve/signatures.ts';

const texts: ModelSignature = { fingerprint: 'test', name: 'texts', version: '1', inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }], outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }] };
const scalar: ModelSignature = { fingerprint: 'test', name: 'scale', version: '1', inputs: [{ name: 'x', datatype: 'FP32', shape: [] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [] }] };
const pooler: ModelSignature = { fingerprint: 'test', name: 'pooler', version: '1', inputs: [{ name: 'tokens', datatype: 'FP32', shape: [-1, -1, 8] }], outputs: [{ name: 'pooled', datatype: 'FP32', shape: [-1, 4] }] };

const row = (n: number, width: number, base = 0) => Array.from({ length: width }, (_, i) => Math.fround((base + n * width + i) / 7));
const floats = (tensor: Tensor) => Array.from(new Float32Array(Uint8Array.prototype.slice.call(tensor.data).buffer));
const int64s = (tensor: Tensor) => Array.from(new BigInt64Array(Uint8Array.prototype.slice.call(tensor.data).buffer));
/** BYTES elements from their length-prefixed layout. */
function byteElements(tensor: Tensor): Buffer[] {
  const view = Buffer.from(tensor.data);
  const out: Buffer[] = [];
  for (let at = 0; at < view.byteLength; ) {
    const length = view.readUInt32LE(at);
    out.push(view.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

t.test('the shape is the nesting of the value, read along first items', async (t) => {
  t.same(nestedShape(7), []);
  t.same(nestedShape([]), [0]);
  t.same(nestedShape([[1, 2, 3], [4, 5, 6]]), [2, 3]);
  t.same(nestedShape([[[]]]), [1, 1, 0]);
  t.same(nestedShape([{ b64: 'AA==' }]), [1]);
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.equal(nestedShape(deep).length, 33, 'bounded: a hostile depth stops past what the decoder accepts');
});

t.test('row format: instances are stacked along a new first dim', async (t) => {
  const rows = [row(0, 64), row(1, 64), row(2, 64)];
  const bare = decodePredictRequest({ instances: rows }, classifier);
  t.equal(bare.format, 'row');
  t.same(bare.tensors.map((x) => [x.name, x.datatype, x.shape]), [['input', 'FP32', [3, 64]]]);
  t.same(floats(bare.tensors[0]!), rows.flat(), 'float32 values in row-major order');
  const named = decodePredictRequest({ instances: rows.map((input) => ({ input })) }, classifier);
  t.same(named.tensors, bare.tensors, 'an object naming the one input is the same request');

  const instances = [0, 1].map((n) => ({ item_ids: [n, 1, 2, 3], features: row(n, 16) }));
  const multi = decodePredictRequest({ instances, signature_name: 'serving_default' }, ranker);
  t.same(multi.tensors.map((x) => [x.name, x.datatype, x.shape]), [['features', 'FP32', [2, 16]], ['item_ids', 'INT64', [2, 4]]], 'in the signature\'s input order, datatypes from the signature');
  t.same(floats(multi.tensors[0]!), [...row(0, 16), ...row(1, 16)]);
  t.same(int64s(multi.tensors[1]!), [0n, 1n, 2n, 3n, 1n, 1n, 2n, 3n]);

  const sequences = [[row(0, 8), row(1, 8), row(2, 8)], [row(3, 8), row(4, 8), row(5, 8)]];
  const nested = decodePredictRequest({ instances: sequences }, pooler);
  t.same(nested.tensors[0]!.shape, [2, 3, 8], 'a rank-3 input: rows of [3, 8]');
  t.same(floats(nested.tensors[0]!), sequences.flat(2));
});

t.test('columnar format: each value is its input\'s whole tensor', async (t) => {
  const value = [row(0, 64), row(1, 64)];
  const bare = decodePredictRequest({ inputs: value }, classifier);
  t.equal(bare.format, 'columnar');
  t.same(bare.tensors[0]!.shape, [2, 64]);
  t.same(decodePredictRequest({ inputs: { input: value } }, classifier).tensors, bare.tensors, 'named or not');
  const multi = decodePredictRequest({ inputs: { features: [row(0, 16)], item_ids: [[9, 8, 7, 6]] } }, ranker);
  t.same(multi.tensors.map((x) => x.shape), [[1, 16], [1, 4]]);
  t.same(int64s(multi.tensors[1]!), [9n, 8n, 7n, 6n]);
  const one = decodePredictRequest({ inputs: 2.5 }, scalar);
  t.same([one.tensors[0]!.shape, floats(one.tensors[0]!)], [[], [2.5]], 'a bare number is a scalar tensor');
  t.same(decodePredictRequest({ inputs: { x: 2.5 }, signature_name: '' }, scalar).tensors, one.tensors);
  t.same(decodePredictRequest({ inputs: [] }, texts).tensors[0]!.shape, [0], 'an empty list is a dim of 0');
});

t.test('BYTES inputs take strings (UTF-8) and {"b64": …} for any bytes', async (t) => {
  const binary = Buffer.from([0, 0xff, 0x80, 10]);
  const rows = decodePredictRequest({ instances: [{ b64: binary.toString('base64') }, 'héllo', { b64: 'AAE' }] }, texts);
  t.same(rows.tensors[0]!.shape, [3]);
  t.same(byteElements(rows.tensors[0]!), [binary, Buffer.from('héllo'), Buffer.from([0, 1])], 'b64 decoded, padding optional; strings as UTF-8');
  const named = decodePredictRequest({ instances: [{ text: { b64: binary.toString('base64') } }] }, texts);
  t.same(byteElements(named.tensors[0]!), [binary], 'a named instance holding a b64 value');
  const columns = decodePredictRequest({ inputs: { text: ['a', { b64: '' }] } }, texts);
  t.same(byteElements(columns.tensors[0]!), [Buffer.from('a'), Buffer.alloc(0)]);
});

t.test('bad requests are the catalogued 4xx, as the KServe decoder refuses them', async (t) => {
  const good = [row(0, 64)];
  const table: Array<[string, unknown, ModelSignature, string]> = [
    ['not an object', [good], classifier, 'GW_ERR_INVALID_REQUEST'],
    ['both formats', { instances: good, inputs: good }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['neither format', { signature_name: 'serving_default' }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['another signature', { signature_name: 'classify', instances: good }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['signature_name not a string', { signature_name: 1, instances: good }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['instances not a list', { instances: { input: good } }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['no instances', { instances: [] }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['bare rows for a model of two inputs', { instances: [row(0, 16)] }, ranker, 'GW_ERR_INVALID_REQUEST'],
    ['a bare columnar value for a model of two inputs', { inputs: [row(0, 16)] }, ranker, 'GW_ERR_INVALID_REQUEST'],
    ['an instance that is not an object after one that is', { instances: [{ input: row(0, 64) }, row(1, 64)] }, classifier, 'GW_ERR_INVALID_REQUEST'],
    ['instances naming other inputs', { instances: [{ features: row(0, 16), item_ids: [1, 2, 3, 4] }, { features: row(1, 16) }] }, ranker, 'GW_ERR_INVALID_REQUEST'],
    ['ragged rows', { instances: [row(0, 64), row(1, 63)] }, classifier, 'GW_ERR_ELEMENT_COUNT'],
    ['a row of a scalar and a row of a list', { instances: [1, [2]] }, texts, 'GW_ERR_ELEMENT_COUNT'],
    ['rows of the wrong width', { instances: [row(0, 63)] }, classifier, 'GW_ERR_SHAPE_MISMATCH'],
    ['rows of the wrong rank', { instances: [1, 2] }, classifier, 'GW_ERR_SHAPE_MISMATCH'],
    ['an empty columnar list', { inputs: [] }, classifier, 'GW_ERR_SHAPE_MISMATCH'],
    ['an input the model lacks', { inputs: { input: good, extra: [1] } }, classifier, 'GW_ERR_UNKNOWN_INPUT'],
    ['an input missing', { inputs: { features: [row(0, 16)] } }, ranker, 'GW_ERR_MISSING_INPUT'],
    ['no input named', { inputs: {} }, classifier, 'GW_ERR_MISSING_INPUT'],
    ['a string for a float', { instances: [['x', ...row(0, 63)]] }, classifier, 'GW_ERR_INVALID_DATA'],
    ['b64 for a float', { instances: [[{ b64: 'AAAAAA==' }, ...row(0, 63)]] }, classifier, 'GW_ERR_INVALID_DATA'],
    ['a fraction for an INT64', { instances: [{ features: row(0, 16), item_ids: [1.5, 1, 2, 3] }] }, ranker, 'GW_ERR_INVALID_DATA'],
    ['b64 that is not base64', { instances: [{ b64: 'no*base64' }] }, texts, 'GW_ERR_INVALID_DATA'],
    ['b64 that is not a string', { instances: [{ b64: 12 }] }, texts, 'GW_ERR_INVALID_DATA'],
    ['a number for a BYTES element', { instances: ['a', 5] }, texts, 'GW_ERR_INVALID_DATA'],
    ['a deep value', { inputs: JSON.parse(`${'['.repeat(5000)}1${']'.repeat(5000)}`) }, classifier, 'GW_ERR_SHAPE_MISMATCH'],
  ];
  for (const [name, body, signature, code] of table) t.throws(() => decodePredictRequest(body, signature), { code }, name);
  t.throws(() => decodePredictRequest({ instances: Array.from({ length: 5 }, (_, n) => row(n, 64)) }, classifier, { maxRows: 4, batchAxes: new Map([['input', 0]]) }), { code: 'GW_ERR_REQUEST_TOO_LARGE' }, 'over the row limit');
  t.throws(() => decodePredictRequest({ inputs: [row(0, 64), row(1, 64)] }, classifier, { maxElements: 100 }), { code: 'GW_ERR_REQUEST_TOO_LARGE' }, 'over the element limit');
});

t.test('the body is strict JSON in strict UTF-8', async (t) => {
  t.throws(() => decodePredictBody(Buffer.from('{"instances": ['), classifier), { code: 'GW_ERR_MALFORMED_JSON' });
  t.throws(() => decodePredictBody(Buffer.from('{"instances": [NaN]}'), classifier), { code: 'GW_ERR_MALFORMED_JSON' }, 'bare NaN is not JSON: "NaN" is');
  t.throws(() => decodePredictBody(Buffer.from([0x7b, 0xff, 0x7d]), classifier), { code: 'GW_ERR_MALFORMED_JSON' });
  const nan = decodePredictBody(Buffer.from(JSON.stringify({ inputs: 'NaN' })), scalar);
  t.ok(Number.isNaN(floats(nan.tensors[0]!)[0]), '"NaN" is NaN, as in the KServe JSON');
});
