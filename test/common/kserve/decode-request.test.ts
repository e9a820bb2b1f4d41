import t from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import type { ModelSignature } from '../../../common/wire.ts';
import { decodeInferRequest, DEFAULT_MAX_REQUEST_ELEMENTS } from '../../../common/kserve/decode-request.ts';
import { classifier, everyType, ranker } from './signatures.ts';

const body = (value: unknown): Uint8Array =>
  value instanceof Uint8Array ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const floats = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => (start + i) / 8);
const input = (patch: object = {}) => ({ name: 'input', datatype: 'FP32', shape: [1, 64], data: floats(64), ...patch });
const rankerInputs = (rows = 1) => [
  { name: 'features', datatype: 'FP32', shape: [rows, 16], data: floats(16 * rows) },
  { name: 'item_ids', datatype: 'INT64', shape: [rows, 4], data: Array.from({ length: 4 * rows }, (_, i) => i) },
];

t.test('each bad request gets its catalogued code and a message naming the input or field', async (t) => {
  const rows: Array<{ name: string; request: unknown; code: string; mentions: string[]; signature?: ModelSignature; maxElements?: number }> = [
    { name: 'malformed JSON', request: '{"inputs": [', code: 'GW_ERR_MALFORMED_JSON', mentions: [] },
    { name: 'empty body', request: '', code: 'GW_ERR_MALFORMED_JSON', mentions: [] },
    { name: 'body not UTF-8', request: Buffer.from([0x7b, 0xff, 0x7d]), code: 'GW_ERR_MALFORMED_JSON', mentions: [] },
    { name: 'request is an array', request: [], code: 'GW_ERR_INVALID_REQUEST', mentions: ['JSON object'] },
    { name: 'inputs missing', request: {}, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"inputs"'] },
    { name: 'inputs not an array', request: { inputs: { input: [] } }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"inputs"'] },
    { name: 'input not an object', request: { inputs: [5] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['inputs[0]'] },
    { name: 'input name not a string', request: { inputs: [input({ name: 7 })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['inputs[0].name'] },
    { name: 'id not a string', request: { id: 42, inputs: [input()] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"id"'] },
    { name: 'parameters not an object', request: { parameters: [1], inputs: [input()] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"parameters"'] },
    { name: 'input parameters not an object', request: { inputs: [input({ parameters: 'x' })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', '"parameters"'] },
    { name: 'datatype not a string', request: { inputs: [input({ datatype: 32 })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', '"datatype"'] },
    { name: 'shape not an array', request: { inputs: [input({ shape: '1,64' })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', '"shape"'] },
    { name: 'negative shape dim', request: { inputs: [input({ shape: [-1, 64] })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', 'dim 0'] },
    { name: 'fractional shape dim', request: { inputs: [input({ shape: [1, 63.5] })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', 'dim 1'] },
    { name: 'string shape dim', request: { inputs: [input({ shape: ['1', 64] })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', 'dim 0'] },
    { name: 'data missing', request: { inputs: [input({ data: undefined })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', '"data"'] },
    { name: 'data not an array', request: { inputs: [input({ data: 'AAAA' })] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"input"', '"data"'] },
    { name: 'outputs not an array', request: { inputs: [input()], outputs: 'probabilities' }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['"outputs"'] },
    { name: 'output without a name', request: { inputs: [input()], outputs: [{}] }, code: 'GW_ERR_INVALID_REQUEST', mentions: ['outputs[0].name'] },
    {
      name: 'unknown input',
      request: { inputs: [input(), { name: 'extra', datatype: 'FP32', shape: [1], data: [1] }] },
      code: 'GW_ERR_UNKNOWN_INPUT',
      mentions: ['"extra"', '"classifier"'],
    },
    { name: 'missing input', request: { inputs: [rankerInputs()[0]] }, signature: ranker, code: 'GW_ERR_MISSING_INPUT', mentions: ['"item_ids"', 'INT64'] },
    { name: 'same input twice', request: { inputs: [input(), input()] }, code: 'GW_ERR_DUPLICATE_TENSOR', mentions: ['input "input"'] },
    {
      name: 'same output twice',
      request: { inputs: rankerInputs(), outputs: [{ name: 'score' }, { name: 'score' }] },
      signature: ranker,
      code: 'GW_ERR_DUPLICATE_TENSOR',
      mentions: ['output "score"'],
    },
    { name: 'unknown datatype', request: { inputs: [input({ datatype: 'FLOAT' })] }, code: 'GW_ERR_UNKNOWN_DATATYPE', mentions: ['"input"', 'FLOAT'] },
    { name: 'lower-case datatype', request: { inputs: [input({ datatype: 'fp32' })] }, code: 'GW_ERR_UNKNOWN_DATATYPE', mentions: ['"input"', 'fp32'] },
    {
      name: "datatype differs from the model's",
      request: { inputs: [input({ datatype: 'FP64' })] },
      code: 'GW_ERR_DATATYPE_MISMATCH',
      mentions: ['input "input" is FP64 but the model takes FP32'],
    },
    { name: 'rank differs', request: { inputs: [input({ shape: [64] })] }, code: 'GW_ERR_SHAPE_MISMATCH', mentions: ['"input"', 'rank 1', '[-1,64]'] },
    { name: 'static dim differs', request: { inputs: [input({ shape: [2, 32] })] }, code: 'GW_ERR_SHAPE_MISMATCH', mentions: ['"input"', 'dim 1', '[-1,64]'] },
    { name: 'scalar sent with a dim', request: scalarOnly({ shape: [1] }), signature: everyType, code: 'GW_ERR_SHAPE_MISMATCH', mentions: ['"scalar"'] },
    { name: 'element count ≠ shape', request: { inputs: [input({ data: [1, 2, 3] })] }, code: 'GW_ERR_ELEMENT_COUNT', mentions: ['"input"', '3', '64'] },
    { name: 'huge shape, tiny data', request: { inputs: [input({ shape: [1e12, 64] })] }, code: 'GW_ERR_REQUEST_TOO_LARGE', mentions: ['"input"', 'limits.maxElementsPerRequest'] },
    {
      name: 'value not a number',
      request: { inputs: [input({ data: [...floats(5), 'x', ...floats(58)] })] },
      code: 'GW_ERR_INVALID_DATA',
      mentions: ['"input"', 'element 5', 'FP32'],
    },
    {
      name: 'INT64 beyond 2^53 sent as a number',
      request: { inputs: [rankerInputs()[0], { ...rankerInputs()[1], data: [1, 2, 3, 2 ** 60] }] },
      signature: ranker,
      code: 'GW_ERR_INVALID_DATA',
      mentions: ['"item_ids"', 'element 3', 'decimal string'],
    },
    { name: 'unknown output', request: { inputs: [input()], outputs: [{ name: 'logits' }] }, code: 'GW_ERR_UNKNOWN_OUTPUT', mentions: ['"logits"', '"probabilities"'] },
    {
      name: 'more elements than the request limit',
      request: { inputs: [input({ shape: [2, 64], data: floats(128) })] },
      maxElements: 100,
      code: 'GW_ERR_REQUEST_TOO_LARGE',
      mentions: ['128', '100'],
    },
    // Cheap, structural checks come before any data is read.
    {
      name: 'missing input wins over bad data elsewhere',
      request: { inputs: [{ ...rankerInputs()[0], data: ['bad', ...floats(15)] }] },
      signature: ranker,
      code: 'GW_ERR_MISSING_INPUT',
      mentions: ['"item_ids"'],
    },
    {
      name: 'unknown output wins over a wrong element count',
      request: { inputs: [input({ data: [1] })], outputs: [{ name: 'logits' }] },
      code: 'GW_ERR_UNKNOWN_OUTPUT',
      mentions: ['"logits"'],
    },
    {
      name: 'element counts are checked before values',
      request: { inputs: [{ ...rankerInputs()[0], data: ['bad', ...floats(15)] }, { ...rankerInputs()[1], data: [1] }] },
      signature: ranker,
      code: 'GW_ERR_ELEMENT_COUNT',
      mentions: ['"item_ids"'],
    },
  ];
  for (const row of rows) {
    try {
      decodeInferRequest(body(row.request), row.signature ?? classifier, row.maxElements === undefined ? {} : { maxElements: row.maxElements });
      t.fail(`${row.name}: expected ${row.code}, it decoded`);
    } catch (err) {
      t.ok(err instanceof InfergateError, `${row.name}: an InfergateError`);
      t.equal((err as InfergateError).code, row.code, `${row.name}: code`);
      for (const m of row.mentions) t.match((err as Error).message, m, `${row.name}: message mentions ${m}`);
    }
  }
});

function scalarOnly(patch: object): object {
  return { inputs: [{ name: 'scalar', datatype: 'FP32', shape: [], data: [1], ...patch }] };
}

t.test('a flat request decodes to the raw FP32 bytes', async (t) => {
  const data = floats(64);
  const decoded = decodeInferRequest(body({ inputs: [input({ data })] }), classifier);
  t.same(decoded, { tensors: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Uint8Array(Float32Array.from(data).buffer) }] });
});

t.test('nested data, dynamic batch dims', async (t) => {
  for (const rows of [0, 1, 3, 17]) {
    const nested = Array.from({ length: rows }, (_, r) => floats(64, r * 64));
    const decoded = decodeInferRequest(body({ inputs: [input({ shape: [rows, 64], data: nested })] }), classifier);
    t.same(decoded.tensors[0]!.shape, [rows, 64], `batch ${rows}: shape`);
    t.same(decoded.tensors[0]!.data, new Uint8Array(Float32Array.from(floats(64 * rows)).buffer), `batch ${rows}: bytes, row-major`);
  }
});

t.test('tensors come out in the model input order; id, parameters and outputs pass through', async (t) => {
  const [features, itemIds] = rankerInputs(2);
  const decoded = decodeInferRequest(
    body({
      id: 'req-7',
      parameters: { binary_data_output: false, note: 'kept' },
      inputs: [{ ...itemIds, data: [1, 2, 3, '9007199254740993', 5, 6, 7, -8], parameters: { binary_data: false } }, features],
      outputs: [{ name: 'score', parameters: { binary_data: false } }],
    }),
    ranker,
  );
  t.equal(decoded.id, 'req-7');
  t.same(decoded.parameters, { binary_data_output: false, note: 'kept' });
  t.same(decoded.outputs, ['score']);
  t.same(decoded.tensors.map((x) => x.name), ['features', 'item_ids']);
  t.same(
    [...new BigInt64Array(decoded.tensors[1]!.data.buffer, decoded.tensors[1]!.data.byteOffset, 8)],
    [1n, 2n, 3n, 9007199254740993n, 5n, 6n, 7n, -8n],
    'INT64 exact beyond 2^53',
  );
});

t.test('outputs: absent and empty both mean every output; order is kept', async (t) => {
  t.notOk('outputs' in decodeInferRequest(body({ inputs: rankerInputs() }), ranker), 'absent');
  t.notOk('outputs' in decodeInferRequest(body({ inputs: rankerInputs(), outputs: [] }), ranker), 'empty');
  const both = decodeInferRequest(body({ inputs: rankerInputs(), outputs: [{ name: 'score' }, { name: 'embedding' }] }), ranker);
  t.same(both.outputs, ['score', 'embedding']);
  t.notOk('id' in both, 'no id when none was sent');
  t.notOk('parameters' in both, 'no parameters when none were sent');
});

t.test('every datatype, a scalar and a static dim decode against one signature', async (t) => {
  const inputs = [
    { name: 'b', datatype: 'BOOL', shape: [3], data: [true, false, true] },
    { name: 'u8', datatype: 'UINT8', shape: [2], data: [0, 255] },
    { name: 'u16', datatype: 'UINT16', shape: [1], data: [65535] },
    { name: 'u32', datatype: 'UINT32', shape: [1], data: [4294967295] },
    { name: 'u64', datatype: 'UINT64', shape: [2], data: ['18446744073709551615', 1] },
    { name: 'i8', datatype: 'INT8', shape: [2], data: [-128, 127] },
    { name: 'i16', datatype: 'INT16', shape: [1], data: [-32768] },
    { name: 'i32', datatype: 'INT32', shape: [2, 2], data: [[1, 2], [3, -4]] },
    { name: 'i64', datatype: 'INT64', shape: [1], data: ['-9223372036854775808'] },
    { name: 'h', datatype: 'FP16', shape: [2], data: [0.5, -65504] },
    { name: 'f', datatype: 'FP32', shape: [2], data: [0.25, 1e-3] },
    { name: 'd', datatype: 'FP64', shape: [1], data: [Math.PI] },
    { name: 's', datatype: 'BYTES', shape: [2], data: ['ñandú', '🙂'] },
    { name: 'scalar', datatype: 'FP32', shape: [], data: [2] },
  ];
  const decoded = decodeInferRequest(body({ inputs: [...inputs].reverse(), outputs: [{ name: 'labels' }] }), everyType);
  t.same(decoded.tensors.map((x) => x.name), everyType.inputs.map((s) => s.name), 'model order');
  const byteLengths: Record<string, number> = { b: 3, u8: 2, u16: 2, u32: 4, u64: 16, i8: 2, i16: 2, i32: 16, i64: 8, h: 4, f: 8, d: 8, s: 4 + 7 + 4 + 4, scalar: 4 };
  for (const tensor of decoded.tensors) {
    const sent = inputs.find((i) => i.name === tensor.name)!;
    t.equal(tensor.datatype, sent.datatype, `${tensor.name} datatype`);
    t.same(tensor.shape, sent.shape, `${tensor.name} shape`);
    t.equal(tensor.data.byteLength, byteLengths[tensor.name], `${tensor.name} byte length`);
  }
});

t.test('a UTF-8 byte-order mark is tolerated', async (t) => {
  const decoded = decodeInferRequest(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body({ inputs: [input()] })]), classifier);
  t.equal(decoded.tensors.length, 1);
});

t.test('the default element limit allows large batches', async (t) => {
  t.ok(DEFAULT_MAX_REQUEST_ELEMENTS >= 2 ** 24);
  const rows = 1024;
  const decoded = decodeInferRequest(body({ inputs: [input({ shape: [rows, 64], data: floats(rows * 64) })] }), classifier);
  t.equal(decoded.tensors[0]!.data.byteLength, rows * 64 * 4);
});
