import t, { type Test } from 'tap';
import type { KServeDatatype } from '../../../common/datatypes.ts';
import { InfergateError } from '../../../common/errors.ts';
import { jsonDataLeaves, MAX_DATA_DEPTH } from '../../../common/kserve/data-nesting.ts';
import { jsonToTensorData } from '../../../common/kserve/json-tensor.ts';
import { tensorDataToJson } from '../../../common/kserve/render-tensor.ts';

/** Asserts that `fn` throws the catalogued `code` and that its message mentions each of `mentions`. */
function throwsCode(t: Test, fn: () => unknown, code: string, mentions: readonly string[], label: string): void {
  try {
    fn();
    t.fail(`${label}: expected ${code}, nothing was thrown`);
  } catch (err) {
    t.ok(err instanceof InfergateError, `${label}: an InfergateError`);
    t.equal((err as InfergateError).code, code, `${label}: code`);
    for (const m of mentions) t.match((err as Error).message, m, `${label}: message mentions ${m}`);
  }
}

const roundTrip = (datatype: KServeDatatype, shape: number[], data: unknown): string =>
  tensorDataToJson({ name: 'x', datatype, shape, data: jsonToTensorData('x', datatype, shape, data) });

t.test('every datatype round-trips, flat and nested', async (t) => {
  const rows: Array<{ datatype: KServeDatatype; data: unknown[]; json: string }> = [
    { datatype: 'BOOL', data: [true, false, true, true], json: '[true,false,true,true]' },
    { datatype: 'UINT8', data: [0, 1, 254, 255], json: '[0,1,254,255]' },
    { datatype: 'UINT16', data: [0, 65535, 7, 8], json: '[0,65535,7,8]' },
    { datatype: 'UINT32', data: [0, 4294967295, 1, 2], json: '[0,4294967295,1,2]' },
    { datatype: 'UINT64', data: [0, 9007199254740991, '18446744073709551615', '9007199254740993'], json: '[0,9007199254740991,18446744073709551615,9007199254740993]' },
    { datatype: 'INT8', data: [-128, 127, 0, -1], json: '[-128,127,0,-1]' },
    { datatype: 'INT16', data: [-32768, 32767, 0, -1], json: '[-32768,32767,0,-1]' },
    { datatype: 'INT32', data: [-2147483648, 2147483647, 0, -1], json: '[-2147483648,2147483647,0,-1]' },
    {
      datatype: 'INT64',
      data: [-9007199254740991, 4294967296, '9223372036854775807', '-9223372036854775808'],
      json: '[-9007199254740991,4294967296,9223372036854775807,-9223372036854775808]',
    },
    { datatype: 'FP16', data: [0.1, 65504, -2, 1e-8], json: '[0.0999755859375,65504,-2,0]' },
    { datatype: 'FP32', data: [0.1, -1.5, 3.4028234663852886e38, 1e-45], json: `[${Math.fround(0.1)},-1.5,3.4028234663852886e+38,${Math.fround(1e-45)}]` },
    { datatype: 'FP64', data: [0.1, -1.5, 1.7976931348623157e308, 5e-324], json: '[0.1,-1.5,1.7976931348623157e+308,5e-324]' },
    { datatype: 'BYTES', data: ['héllo', '', '日本語', '😀 "quoted"\n'], json: JSON.stringify(['héllo', '', '日本語', '😀 "quoted"\n']) },
  ];
  for (const row of rows) {
    const [a, b, c, d] = row.data;
    t.equal(roundTrip(row.datatype, [4], row.data), row.json, `${row.datatype} flat`);
    t.equal(roundTrip(row.datatype, [2, 2], [[a, b], [c, d]]), row.json, `${row.datatype} nested [2,2]`);
    t.equal(roundTrip(row.datatype, [1, 4, 1], [[[a], [b], [c], [d]]]), row.json, `${row.datatype} nested [1,4,1]`);
  }
});

t.test('bytes are the little-endian wire layout', async (t) => {
  const rows: Array<{ datatype: KServeDatatype; data: unknown[]; bytes: number[] }> = [
    { datatype: 'FP32', data: [1], bytes: [0, 0, 0x80, 0x3f] },
    { datatype: 'FP16', data: [1], bytes: [0, 0x3c] },
    { datatype: 'INT16', data: [-2], bytes: [0xfe, 0xff] },
    { datatype: 'INT64', data: [-1], bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] },
    { datatype: 'INT64', data: [-4294967296], bytes: [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff] },
    { datatype: 'INT64', data: ['9007199254740993'], bytes: [1, 0, 0, 0, 0, 0, 0x20, 0] },
    { datatype: 'UINT64', data: [2 ** 40 + 5], bytes: [5, 0, 0, 0, 0, 1, 0, 0] },
    { datatype: 'BOOL', data: [true, false], bytes: [1, 0] },
    { datatype: 'BYTES', data: ['é', ''], bytes: [2, 0, 0, 0, 0xc3, 0xa9, 0, 0, 0, 0] },
  ];
  for (const row of rows) {
    t.same([...jsonToTensorData('x', row.datatype, [row.data.length], row.data)], row.bytes, `${row.datatype} ${JSON.stringify(row.data)}`);
  }
});

t.test('values a datatype cannot hold are refused, naming the input and element', async (t) => {
  const rows: Array<{ datatype: KServeDatatype; bad: unknown }> = [
    { datatype: 'INT8', bad: 128 },
    { datatype: 'INT8', bad: -129 },
    { datatype: 'UINT8', bad: -1 },
    { datatype: 'UINT8', bad: 256 },
    { datatype: 'INT16', bad: 32768 },
    { datatype: 'UINT16', bad: 65536 },
    { datatype: 'INT32', bad: 1.5 },
    { datatype: 'INT32', bad: 2147483648 },
    { datatype: 'INT32', bad: '1' },
    { datatype: 'UINT32', bad: 4294967296 },
    { datatype: 'INT64', bad: 9007199254740992 }, // already rounded by JSON.parse: must be sent as a string
    { datatype: 'INT64', bad: 0.5 },
    { datatype: 'INT64', bad: '9223372036854775808' },
    { datatype: 'INT64', bad: '1e3' },
    { datatype: 'INT64', bad: ' 12' },
    { datatype: 'INT64', bad: '1'.repeat(5000) },
    { datatype: 'UINT64', bad: -1 },
    { datatype: 'UINT64', bad: '-1' },
    { datatype: 'UINT64', bad: '18446744073709551616' },
    { datatype: 'BOOL', bad: 1 },
    { datatype: 'BOOL', bad: 0 },
    { datatype: 'BOOL', bad: 'true' },
    { datatype: 'FP16', bad: 70000 },
    { datatype: 'FP32', bad: 1e39 },
    { datatype: 'FP64', bad: Number.POSITIVE_INFINITY }, // what JSON.parse makes of 1e400
    { datatype: 'FP32', bad: null },
    { datatype: 'FP32', bad: '1.0' },
    { datatype: 'FP32', bad: { value: 1 } },
    { datatype: 'BYTES', bad: 5 },
    { datatype: 'BYTES', bad: null },
  ];
  for (const row of rows) {
    const label = `${row.datatype} ${JSON.stringify(row.bad)?.slice(0, 30)}`;
    const okValue = row.datatype === 'BOOL' ? true : row.datatype === 'BYTES' ? 'a' : 1;
    throwsCode(t, () => jsonToTensorData('feat', row.datatype, [2, 2], [[okValue, okValue], [okValue, row.bad]]), 'GW_ERR_INVALID_DATA', ['"feat"', 'element 3', row.datatype], label);
  }
});

t.test('element count must equal the product of the shape', async (t) => {
  throwsCode(t, () => jsonToTensorData('in', 'FP32', [2, 2], [1, 2, 3]), 'GW_ERR_ELEMENT_COUNT', ['"in"', '3', '[2,2]', '4'], 'short');
  throwsCode(t, () => jsonToTensorData('in', 'FP32', [2, 2], [[1, 2], [3, 4, 5]]), 'GW_ERR_ELEMENT_COUNT', ['"in"', 'data[1] holds 3 items where dim 1 is 2'], 'nested, long');
  throwsCode(t, () => jsonToTensorData('in', 'FP32', [], []), 'GW_ERR_ELEMENT_COUNT', ['"in"'], 'scalar without a value');
  // A tiny body claiming a huge shape is refused before anything is allocated.
  throwsCode(t, () => jsonToTensorData('in', 'FP64', [1e9, 1e9], [1]), 'GW_ERR_ELEMENT_COUNT', ['"in"'], 'huge shape');
  t.equal(roundTrip('FP32', [], [2.5]), '[2.5]', 'scalar');
  t.equal(roundTrip('INT32', [0, 3], []), '[]', 'empty tensor');
  t.equal(roundTrip('FP32', [2, 0], [[], []]), '[]', 'empty nested rows');
  t.equal(roundTrip('BYTES', [0], []), '[]', 'empty BYTES');
});

t.test('nesting: flat or nested exactly as the shape, without recursion, up to the cap', async (t) => {
  const flat = [1, 2, 3];
  t.equal(jsonDataLeaves('x', [3], flat), flat, 'flat data is used as is (no copy)');
  t.same(jsonDataLeaves('x', [2, 2], [[1, 2], [3, 4]]), [1, 2, 3, 4], 'nested exactly: row-major leaves');
  throwsCode(t, () => jsonDataLeaves('x', [5], [1, [2, [3, [4]]], [], 5]), 'GW_ERR_ELEMENT_COUNT', ['"x"', 'data[1] is an array but data[0] is not'], 'mixed nesting');

  const nest = (depth: number): unknown => {
    let data: unknown = [7];
    for (let i = 1; i < depth; i++) data = [data];
    return data;
  };
  const ones = (n: number) => Array<number>(n).fill(1);
  t.equal(roundTrip('INT32', ones(MAX_DATA_DEPTH), nest(MAX_DATA_DEPTH)), '[7]', `${MAX_DATA_DEPTH} levels are accepted for a rank-${MAX_DATA_DEPTH} shape`);
  throwsCode(t, () => jsonToTensorData('deep', 'INT32', ones(MAX_DATA_DEPTH + 1), nest(MAX_DATA_DEPTH + 1)), 'GW_ERR_INVALID_REQUEST', ['"deep"', 'nested'], 'one level too deep');
  // A hostile million-level body must not blow the stack.
  const deep = JSON.parse('['.repeat(1e6) + ']'.repeat(1e6));
  throwsCode(t, () => jsonToTensorData('deep', 'INT32', ones(MAX_DATA_DEPTH + 1), deep), 'GW_ERR_INVALID_REQUEST', ['"deep"'], 'a million levels, past the cap');
  throwsCode(t, () => jsonToTensorData('deep', 'INT32', [1], deep), 'GW_ERR_ELEMENT_COUNT', ['"deep"', 'data[0] is an array'], 'a million levels, past the rank');
  throwsCode(t, () => jsonToTensorData('x', 'INT32', [1], 5), 'GW_ERR_INVALID_REQUEST', ['"x"', '"data" must be an array'], 'data not an array');
});

t.test('non-finite floats are written as the strings "NaN", "Infinity", "-Infinity"', async (t) => {
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1.5];
  const rows: Array<{ datatype: KServeDatatype; data: Uint8Array }> = [
    { datatype: 'FP16', data: new Uint8Array(Float16Array.from(special).buffer) },
    { datatype: 'FP32', data: new Uint8Array(Float32Array.from(special).buffer) },
    { datatype: 'FP64', data: new Uint8Array(Float64Array.from(special).buffer) },
  ];
  for (const row of rows) {
    t.equal(tensorDataToJson({ name: 'y', datatype: row.datatype, shape: [5], data: row.data }), '["NaN","Infinity","-Infinity",0,1.5]', row.datatype);
  }
});

t.test('encoding reads unaligned views and refuses bytes that do not fit the shape', async (t) => {
  const frame = new Uint8Array(1 + 8);
  frame.set(new Uint8Array(Float32Array.from([0.5, -2]).buffer), 1);
  t.equal(tensorDataToJson({ name: 'y', datatype: 'FP32', shape: [2], data: frame.subarray(1) }), '[0.5,-2]', 'FP32 at an odd byte offset');
  const big = new Uint8Array(17);
  big.set(new Uint8Array(BigInt64Array.from([-5n, 2n ** 62n]).buffer), 1);
  t.equal(tensorDataToJson({ name: 'y', datatype: 'INT64', shape: [2], data: big.subarray(1) }), `[-5,${2n ** 62n}]`, 'INT64 at an odd byte offset');

  throwsCode(t, () => tensorDataToJson({ name: 'y', datatype: 'FP32', shape: [3], data: new Uint8Array(8) }), 'GW_ERR_INTERNAL', ['"y"'], 'too few bytes');
  throwsCode(t, () => tensorDataToJson({ name: 'y', datatype: 'BYTES', shape: [1], data: new Uint8Array([9, 0, 0, 0, 65]) }), 'GW_ERR_INTERNAL', ['"y"'], 'BYTES element overruns');
  throwsCode(t, () => tensorDataToJson({ name: 'y', datatype: 'BYTES', shape: [1], data: new Uint8Array([1, 0, 0, 0, 65, 66]) }), 'GW_ERR_INTERNAL', ['"y"'], 'BYTES trailing bytes');
  t.equal(tensorDataToJson({ name: 'y', datatype: 'BYTES', shape: [1], data: new Uint8Array([2, 0, 0, 0, 0xff, 0x41]) }), '["\uFFFDA"]', 'invalid UTF-8 becomes U+FFFD');
  t.equal(tensorDataToJson({ name: 'y', datatype: 'BOOL', shape: [3], data: new Uint8Array([0, 1, 2]) }), '[false,true,true]', 'BOOL: any non-zero byte is true');
});
