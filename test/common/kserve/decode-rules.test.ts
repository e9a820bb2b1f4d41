// The request rules, table by table, each row run through both decoders
// (decodeInferRequest and decodeInferRequestSliced): the nesting of `data`,
// non-finite floats, and the size limits judged from shapes alone.

import t, { type Test } from 'tap';
import type { KServeDatatype } from '../../../common/datatypes.ts';
import { InfergateError } from '../../../common/errors.ts';
import { decodeInferRequest, decodeInferRequestSliced, type DecodedInferRequest, type DecodeOptions } from '../../../common/kserve/decode-request.ts';
import { TimeSlicer } from '../../../common/time-slice.ts';
import type { ModelSignature } from '../../../common/wire.ts';

const signature = (inputs: Array<[string, KServeDatatype, number[]]>): ModelSignature => ({
  name: 'm',
  version: '1',
  fingerprint: 'test',
  inputs: inputs.map(([name, datatype, shape]) => ({ name, datatype, shape })),
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
});
const tokens = signature([['tokens', 'FP32', [-1, 3, 8]]]);

type Outcome = { value: DecodedInferRequest } | { code: string; message: string };

async function bothWays(body: Buffer, sig: ModelSignature, options: DecodeOptions = {}): Promise<[Outcome, Outcome]> {
  const attempt = async (run: () => DecodedInferRequest | Promise<DecodedInferRequest>): Promise<Outcome> => {
    try {
      return { value: await run() };
    } catch (err) {
      if (!(err instanceof InfergateError)) throw err;
      return { code: err.code, message: err.message };
    }
  };
  return [
    await attempt(() => decodeInferRequest(body, sig, options)),
    await attempt(() => decodeInferRequestSliced(body, sig, options, new TimeSlicer({ sliceMs: 0 }))),
  ];
}

type Row = { name: string; sig: ModelSignature; inputs: unknown[]; options?: DecodeOptions; code?: string; mentions?: string[]; bytes?: number[] };

/** Each row decodes the same way on both paths: the same error code, message and mentions, or the same bytes. */
async function runRows(t: Test, rows: readonly Row[]): Promise<void> {
  for (const row of rows) {
    const body = Buffer.from(JSON.stringify({ inputs: row.inputs }));
    const [sync, sliced] = await bothWays(body, row.sig, row.options);
    for (const [path, outcome] of [['sync', sync], ['sliced', sliced]] as const) {
      const label = `${row.name} (${path})`;
      if (row.code) {
        t.equal('code' in outcome && outcome.code, row.code, `${label}: ${row.code}`);
        for (const m of row.mentions ?? []) t.match('message' in outcome ? outcome.message : '', m, `${label}: mentions ${m}`);
      } else if (!('value' in outcome)) t.fail(`${label}: expected it to decode, got ${outcome.code}: ${outcome.message}`);
      else if (row.bytes) t.same([...outcome.value.tensors[0]!.data], row.bytes, `${label}: bytes`);
    }
    if ('message' in sync && 'message' in sliced) t.equal(sliced.message, sync.message, `${row.name}: same message on both paths`);
  }
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const rows3x8 = (rows: number) => Array.from({ length: rows }, (_, r) => Array.from({ length: 3 }, (_, c) => range(8, (r * 3 + c) * 8)));

t.test('data is flat or nested exactly as the shape; anything else is GW_ERR_ELEMENT_COUNT saying where', async (t) => {
  const x = (shape: number[], data: unknown, datatype: KServeDatatype = 'FP32') => [{ name: 'x', datatype, shape, data }];
  const s23 = signature([['x', 'FP32', [-1, 3]]]);
  const s222 = signature([['x', 'FP32', [2, 2, 2]]]);
  const s203 = signature([['x', 'FP32', [-1, -1, 3]]]);
  const scalar = signature([['x', 'FP32', []]]);
  const UNLIKE = 'send data flat, or nested exactly as the shape';
  await runRows(t, [
    { name: 'flat', sig: tokens, inputs: [{ name: 'tokens', datatype: 'FP32', shape: [2, 3, 8], data: range(48) }] },
    { name: 'nested exactly', sig: tokens, inputs: [{ name: 'tokens', datatype: 'FP32', shape: [2, 3, 8], data: rows3x8(2) }] },
    {
      name: 'a ragged row',
      sig: tokens,
      inputs: [{ name: 'tokens', datatype: 'FP32', shape: [2, 3, 8], data: [rows3x8(1)[0], [range(8), range(8)]] }],
      code: 'GW_ERR_ELEMENT_COUNT',
      mentions: ['input "tokens": "data" is nested unlike shape [2,3,8]: data[1] holds 2 items where dim 1 is 3', UNLIKE],
    },
    { name: 'ragged rows, leaf count right', sig: s23, inputs: x([2, 3], [[1, 2], [3, 4, 5, 6]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[0] holds 2 items where dim 1 is 3'] },
    { name: 'rows short in the outer dim', sig: s23, inputs: x([2, 3], [[1, 2, 3]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data holds 1 item where dim 0 is 2'] },
    { name: 'partial nesting', sig: s222, inputs: x([2, 2, 2], [[1, 2, 3, 4], [5, 6, 7, 8]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[0][0] is not an array where dim 2 (2 items) belongs'] },
    { name: 'leaves then an array', sig: s23, inputs: x([2, 3], [1, 2, 3, [4, 5, 6]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[3] is an array but data[0] is not'] },
    { name: 'an array then leaves', sig: s23, inputs: x([2, 3], [[1, 2, 3], 4, 5, 6]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[1] is not an array where dim 1 (3 items) belongs'] },
    { name: 'deeper than the rank', sig: s23, inputs: x([1, 3], [[[1], [2], [3]]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[0][0] is an array but the shape has only 2 dims'] },
    { name: 'flat, too few leaves', sig: s23, inputs: x([2, 3], [1, 2, 3, 4, 5]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['has 5 data elements but shape [2,3] holds 6'] },
    { name: 'scalar, one flat value', sig: scalar, inputs: x([], [2.5]), bytes: [0, 0, 0x20, 0x40] },
    { name: 'scalar, no value', sig: scalar, inputs: x([], []), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['has 0 data elements but shape [] holds 1'] },
    { name: 'scalar, nested', sig: scalar, inputs: x([], [[2.5]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[0] is an array but the shape has only 0 dims'] },
    { name: 'zero dim, flat', sig: s203, inputs: x([2, 0, 3], []), bytes: [] },
    { name: 'zero dim, nested', sig: s203, inputs: x([2, 0, 3], [[], []]), bytes: [] },
    { name: 'zero dim, nested too far', sig: s203, inputs: x([2, 0, 3], [[[]], []]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[0][0] holds 0 items where dim 2 is 3'] },
    { name: 'zero outer dim', sig: s23, inputs: x([0, 3], []), bytes: [] },
    { name: 'zero outer dim with a row', sig: s23, inputs: x([0, 3], [[1, 2, 3]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data holds 1 item where dim 0 is 0'] },
    { name: 'nested too deep for the cap', sig: signature([['x', 'FP32', Array(40).fill(1)]]), inputs: x(Array(40).fill(1), JSON.parse('['.repeat(40) + '1' + ']'.repeat(40))), code: 'GW_ERR_INVALID_REQUEST', mentions: ['nested deeper than 32 levels'] },
    { name: 'data not an array', sig: s23, inputs: x([1, 3], { a: 1 }), code: 'GW_ERR_INVALID_REQUEST', mentions: ['"data" must be an array, not an object'] },
    // Nesting is judged before values: a ragged body with a bad value is a count error.
    { name: 'ragged beats a bad value', sig: s23, inputs: x([2, 3], [['a', 2, 3], [4, 5]]), code: 'GW_ERR_ELEMENT_COUNT', mentions: ['data[1] holds 2 items'] },
  ]);
});

t.test('NaN and ±Infinity: strings for float types, refused for the others; overflowing literals say so', async (t) => {
  const one = (datatype: KServeDatatype, data: unknown[]): Row => ({
    name: `${datatype} ${JSON.stringify(data)}`,
    sig: signature([['x', datatype, [-1]]]),
    inputs: [{ name: 'x', datatype, shape: [data.length], data }],
  });
  const special = ['NaN', 'Infinity', '-Infinity'];
  await runRows(t, [
    { ...one('FP32', special), bytes: [...new Uint8Array(Float32Array.of(NaN, Infinity, -Infinity).buffer)] },
    { ...one('FP64', special), bytes: [...new Uint8Array(Float64Array.of(NaN, Infinity, -Infinity).buffer)] },
    { ...one('FP16', special), bytes: [...new Uint8Array(Float16Array.of(NaN, Infinity, -Infinity).buffer)] },
    ...(['INT8', 'INT32', 'UINT8', 'INT64', 'UINT64', 'BOOL'] as const).map((datatype) => ({ ...one(datatype, ['NaN']), code: 'GW_ERR_INVALID_DATA', mentions: ['element 0 is "NaN"', datatype] })),
    { ...one('INT32', ['Infinity']), code: 'GW_ERR_INVALID_DATA', mentions: ['element 0 is "Infinity"'] },
    { ...one('FP32', ['nan']), code: 'GW_ERR_INVALID_DATA', mentions: ['element 0 is "nan"', 'a JSON number, or "NaN"/"Infinity"/"-Infinity"'] },
    { ...one('FP32', [null]), code: 'GW_ERR_INVALID_DATA', mentions: ['element 0 is null; FP32 needs a JSON number'] },
    { ...one('FP16', [70000]), code: 'GW_ERR_INVALID_DATA', mentions: ['element 0 is 70000, beyond FP16 range; FP16 needs a finite number within FP16 range, or "NaN"/"Infinity"/"-Infinity"'] },
  ]);
  // 1e400 and 1e39 cannot be written by JSON.stringify: the bodies are spelled out.
  const literal = async (datatype: KServeDatatype, text: string, mentions: string[]) => {
    const body = Buffer.from(`{"inputs":[{"name":"x","datatype":"${datatype}","shape":[1],"data":[${text}]}]}`);
    for (const outcome of await bothWays(body, signature([['x', datatype, [-1]]]))) {
      t.equal('code' in outcome && outcome.code, 'GW_ERR_INVALID_DATA', `${datatype} ${text}`);
      for (const m of mentions) t.match('message' in outcome ? outcome.message : '', m, `${datatype} ${text}: mentions ${m}`);
      t.notMatch('message' in outcome ? outcome.message : '', /null/, `${datatype} ${text}: never "null"`);
    }
  };
  const needs = (d: string) => `${d} needs a finite number within ${d} range, or "NaN"/"Infinity"/"-Infinity"`;
  await literal('FP32', '1e400', ['input "x" element 0 is a number beyond FP64 range (it reads as Infinity); ', needs('FP32')]);
  await literal('FP64', '-1e400', ['element 0 is a number beyond FP64 range (it reads as -Infinity)', needs('FP64')]);
  await literal('FP32', '1e39', ['element 0 is 1e+39, beyond FP32 range; ', needs('FP32')]);
  await literal('INT32', '1e400', ['element 0 is a number beyond FP64 range (it reads as Infinity)']);
});

t.test('limits are judged from the shapes, before any data is read, alike for JSON and binary inputs', async (t) => {
  const wide = signature([['x', 'FP32', [-1, -1, 8]]]);
  const x = (shape: number[], data: unknown = []) => [{ name: 'x', datatype: 'FP32', shape, data }];
  const pair = signature([['a', 'FP32', [-1, 4]], ['b', 'INT32', [-1]]]);
  const axes = new Map([['a', 0]]);
  await runRows(t, [
    {
      name: '[16777216,0,8] holds nothing but is refused',
      sig: wide,
      inputs: x([16777216, 0, 8]),
      code: 'GW_ERR_REQUEST_TOO_LARGE',
      mentions: ['input "x" has shape [16777216,0,8]', 'counting each 0 as 1', 'limits.maxElementsPerRequest (16777216)'],
    },
    { name: '[1,0,8] is fine', sig: wide, inputs: x([1, 0, 8]), bytes: [] },
    { name: 'per input, under a lower limit', sig: wide, inputs: x([4, 0, 8]), options: { maxElements: 16 }, code: 'GW_ERR_REQUEST_TOO_LARGE', mentions: ['limits.maxElementsPerRequest (16)'] },
    {
      name: 'total over all inputs',
      sig: pair,
      inputs: [{ name: 'a', datatype: 'FP32', shape: [2, 4], data: range(8) }, { name: 'b', datatype: 'INT32', shape: [4], data: range(4) }],
      options: { maxElements: 10 },
      code: 'GW_ERR_REQUEST_TOO_LARGE',
      mentions: ['the inputs hold 12 elements, over limits.maxElementsPerRequest (10)'],
    },
    {
      name: 'rows along a batch axis',
      sig: pair,
      inputs: [{ name: 'a', datatype: 'FP32', shape: [3, 4], data: range(12) }, { name: 'b', datatype: 'INT32', shape: [1], data: [1] }],
      options: { maxRows: 2, batchAxes: axes },
      code: 'GW_ERR_REQUEST_TOO_LARGE',
      mentions: ['input "a" has 3 rows along axis 0 (shape [3,4]), over limits.maxRowsPerRequest (2)'],
    },
    {
      name: 'an input without a batch axis is not row-limited',
      sig: pair,
      inputs: [{ name: 'a', datatype: 'FP32', shape: [2, 4], data: range(8) }, { name: 'b', datatype: 'INT32', shape: [5], data: range(5) }],
      options: { maxRows: 2, batchAxes: axes },
    },
    { name: 'no batch axes, no row limit', sig: pair, inputs: [{ name: 'a', datatype: 'FP32', shape: [3, 4], data: range(12) }, { name: 'b', datatype: 'INT32', shape: [1], data: [1] }], options: { maxRows: 2 } },
    { name: 'a limit beats ragged data', sig: wide, inputs: x([3, 1, 8], [[1]]), options: { maxElements: 16 }, code: 'GW_ERR_REQUEST_TOO_LARGE' },
    { name: 'a limit beats bad values', sig: wide, inputs: x([3, 1, 8], Array(24).fill('bad')), options: { maxElements: 16 }, code: 'GW_ERR_REQUEST_TOO_LARGE' },
  ]);

  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [16777216, 0, 8], parameters: { binary_data_size: 0 } }] }));
  for (const outcome of await bothWays(head, wide, { binaryHeaderLength: String(head.byteLength) })) {
    t.equal('code' in outcome && outcome.code, 'GW_ERR_REQUEST_TOO_LARGE', 'a binary input is held to the same limits');
  }
});
