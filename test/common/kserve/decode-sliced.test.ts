// decodeInferRequestSliced against decodeInferRequest: for every body, the
// same decoded request (byte-identical tensors) or the same error code, and
// the same message wherever the text is not JSON.parse's own. Tables first,
// then large bodies, cut points and generated requests (fast-check).

import fc from 'fast-check';
import t from 'tap';
import type { KServeDatatype } from '../../../common/datatypes.ts';
import { InfergateError } from '../../../common/errors.ts';
import {
  decodeInferRequest,
  decodeInferRequestSliced,
  SLICED_DECODE_MIN_BYTES,
  type DecodedInferRequest,
  type DecodeOptions,
} from '../../../common/kserve/decode-request.ts';
import { TimeSlicer } from '../../../common/time-slice.ts';
import type { ModelSignature } from '../../../common/wire.ts';

const specs: Array<[string, KServeDatatype, number[]]> = [
  ['f', 'FP32', [-1, -1]],
  ['d', 'FP64', [-1]],
  ['h', 'FP16', [-1, -1, -1]],
  ['i8', 'INT8', [-1]],
  ['i32', 'INT32', [-1, 2]],
  ['u8', 'UINT8', [-1]],
  ['i64', 'INT64', [-1, -1]],
  ['u64', 'UINT64', [-1]],
  ['b', 'BOOL', [-1, -1]],
  ['s', 'BYTES', [-1]],
  ['scalar', 'FP32', []],
];
const every: ModelSignature = {
  name: 'every',
  version: '1',
  fingerprint: 'test',
  inputs: specs.map(([name, datatype, shape]) => ({ name, datatype, shape })),
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }, { name: 'z', datatype: 'BYTES', shape: [-1] }],
};
const single = (datatype: KServeDatatype, shape: number[]): ModelSignature => ({ ...every, inputs: [{ name: 'x', datatype, shape }] });

type Outcome = { value: DecodedInferRequest } | { code: string; message: string };

async function attempt(run: () => DecodedInferRequest | Promise<DecodedInferRequest>): Promise<Outcome> {
  try {
    return { value: await run() };
  } catch (err) {
    if (!(err instanceof InfergateError)) throw err;
    return { code: err.code, message: err.message };
  }
}

/** Why the two decoders disagree on `body`, or undefined when they agree. */
async function disagreement(body: Uint8Array, signature: ModelSignature, options: DecodeOptions = {}, slicer = new TimeSlicer()): Promise<string | undefined> {
  const sync = await attempt(() => decodeInferRequest(body, signature, options));
  const sliced = await attempt(() => decodeInferRequestSliced(body, signature, options, slicer));
  if ('code' in sync || 'code' in sliced) {
    if (!('code' in sync && 'code' in sliced)) return `sync ${describeOutcome(sync)} but sliced ${describeOutcome(sliced)}`;
    if (sync.code !== sliced.code) return `sync ${describeOutcome(sync)} but sliced ${describeOutcome(sliced)}`;
    // JSON.parse words its own syntax errors; every other message is ours and must match.
    if (sync.code !== 'GW_ERR_MALFORMED_JSON' && sync.message !== sliced.message) return `messages differ:\n  sync   ${sync.message}\n  sliced ${sliced.message}`;
    return undefined;
  }
  const a = sync.value;
  const b = sliced.value;
  const envelope = (d: DecodedInferRequest) => JSON.stringify({ id: d.id, parameters: d.parameters, outputs: d.outputs, binaryOutputs: d.binaryOutputs, keys: Object.keys(d) });
  if (envelope(a) !== envelope(b)) return `envelopes differ: ${envelope(a)} vs ${envelope(b)}`;
  if (a.tensors.length !== b.tensors.length) return 'tensor counts differ';
  for (let i = 0; i < a.tensors.length; i++) {
    const [x, y] = [a.tensors[i]!, b.tensors[i]!];
    if (x.name !== y.name || x.datatype !== y.datatype || JSON.stringify(x.shape) !== JSON.stringify(y.shape)) return `tensor ${i} headers differ`;
    if (Buffer.compare(Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength), Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength)) !== 0) {
      return `tensor "${x.name}" bytes differ`;
    }
  }
  return undefined;
}

const describeOutcome = (o: Outcome) => ('code' in o ? `${o.code} (${o.message})` : 'decoded');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const input = (name: string, datatype: string, shape: number[], data: unknown) => ({ name, datatype, shape, data });
const range = (n: number, f: (i: number) => unknown = (i) => i) => Array.from({ length: n }, (_, i) => f(i));
const rows = (n: number, width: number, f: (i: number) => unknown) => range(n, (r) => range(width, (c) => f(r * width + c)));

t.test('a table of small bodies decodes alike on both paths', async (t) => {
  const ok = input('x', 'FP32', [1, 2], [[1, 2]]);
  const bodies: Array<[string, string | Buffer]> = [
    ['valid', JSON.stringify({ id: 'r', parameters: { a: [1, { b: null }] }, inputs: [ok], outputs: [{ name: 'y', parameters: { binary_data: true } }] })],
    ['empty', ''],
    ['whitespace only', ' \n\t '],
    ['a BOM, then the request', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json({ inputs: [ok] })])],
    ['two BOMs', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), json({ inputs: [ok] })])],
    ['bad UTF-8 inside a string', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","inputs":[]}')])],
    ['an overlong UTF-8 sequence', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('","inputs":[]}')])],
    ['a UTF-8 surrogate', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","inputs":[]}')])],
    ['root is an array', '[{"inputs":[]}]'],
    ['root is a long string', JSON.stringify('x'.repeat(100))],
    ['root is a number', ' -0.5e3 '],
    ['trailing garbage', `${JSON.stringify({ inputs: [ok] })} x`],
    ['trailing comma', '{"inputs":[1,],}'],
    ['leading zero', '{"inputs":[01]}'],
    ['bad escape', '{"id":"\\x"}'],
    ['control character in a string', '{"id":"a\u0001b"}'],
    ['duplicate keys: last wins', '{"inputs":5,"id":"a","inputs":[' + JSON.stringify(ok) + '],"id":"b"}'],
    ['duplicate keys: last not an array', '{"inputs":[' + JSON.stringify(ok) + '],"inputs":{"x":1}}'],
    ['duplicate data: last wins', '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1],"data":[[3,4]]}]}'],
    ['escaped keys', '{"inp\\u0075ts":[{"n\\u0061me":"x","datatype":"FP32","shape":[1,2],"d\\u0061ta":[[1,2]]}]}'],
    ['unknown keys with nested values', '{"x":{"inputs":[1]},"inputs":[{"y":[[[]]],"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]],"z":{"data":5}}]}'],
    ['__proto__ keys', '{"__proto__":{"inputs":[]},"inputs":[{"__proto__":1,"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]]}],"parameters":{"__proto__":{"a":1}}}'],
    ['input not an object', '{"inputs":["x"]}'],
    ['input an array', '{"inputs":[[1,2]]}'],
    ['inputs an object', '{"inputs":{"x":1}}'],
    ['more inputs than the model has', JSON.stringify({ inputs: [ok, ok, ok, 5] })],
    ['data a string', JSON.stringify({ inputs: [input('x', 'FP32', [1, 2], 'AAAA')] })],
    ['data null', JSON.stringify({ inputs: [input('x', 'FP32', [1, 2], null)] })],
    ['data holds an object', JSON.stringify({ inputs: [input('x', 'FP32', [1, 2], [{ a: [1, ']'] }, 2])] })],
    ['data holds true', JSON.stringify({ inputs: [input('x', 'FP32', [1, 2], [true, 2])] })],
    ['numbers every way', '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,8],"data":[[-0,0.0,1E2,-1e-2,1.5e+3,12345678901234567890,0.30000001192092896,4e-320]]}]}'],
    ['pretty-printed', JSON.stringify({ inputs: [ok] }, null, 2)],
    ['\\r\\n whitespace', '{\r\n"inputs" :\t[\r\n' + JSON.stringify(ok) + ' ] }'],
  ];
  const sig = single('FP32', [-1, 2]);
  for (const [name, body] of bodies) {
    const why = await disagreement(typeof body === 'string' ? Buffer.from(body) : body, sig);
    t.equal(why, undefined, name);
  }
});

t.test('bodies above SLICED_DECODE_MIN_BYTES, every kind of data, decode alike', async (t) => {
  const strings = ['', '[', ']', ',', '"', '\\', '[],"\\', 'ñandú', '日本語', '🙂', '\u0000\u001f', '\ud83d', '\udc00x', 'a"b\\c/d\n\t'];
  const longString = `${'é[,"\\'.repeat(20_000)}\ud83d\ude00${'🙂x'.repeat(20_000)}\ud800`; // > 64 KiB, escapes at every offset
  const cases: Array<[string, ModelSignature, unknown, DecodeOptions?]> = [
    ['FP32 nested [3000,64]', single('FP32', [-1, 64]), { inputs: [input('x', 'FP32', [3000, 64], rows(3000, 64, (i) => ((i * 7919) % 1000) / 100 - 5))] }],
    ['FP32 flat, NaN/Infinity strings, long digits', single('FP32', [-1]), { inputs: [input('x', 'FP32', [30000], range(30000, (i) => (i % 97 === 0 ? ['NaN', 'Infinity', '-Infinity'][i % 3] : i % 5 === 0 ? Math.PI * i : i % 3 === 0 ? -0 : i / 3)))] }],
    ['FP64 with exponents', single('FP64', [-1]), { inputs: [input('x', 'FP64', [20000], range(20000, (i) => (i % 2 ? 1.5e-300 * i : 1e300 / (i + 1))))] }],
    ['FP16 nested', single('FP16', [-1, 4, 4]), { inputs: [input('x', 'FP16', [2000, 4, 4], range(2000, (r) => rows(4, 4, (i) => (r * 16 + i) % 300 / 7)))] }],
    ['INT64 decimal strings and numbers', single('INT64', [-1, 2]), { inputs: [input('x', 'INT64', [20000, 2], rows(20000, 2, (i) => (i % 3 === 0 ? String(2n ** 62n - BigInt(i)) : i % 3 === 1 ? -i : `-${i}`)))] }],
    ['UINT64', single('UINT64', [-1]), { inputs: [input('x', 'UINT64', [20000], range(20000, (i) => (i % 2 ? '18446744073709551615' : i)))] }],
    ['INT8 in range', single('INT8', [-1]), { inputs: [input('x', 'INT8', [60000], range(60000, (i) => (i % 256) - 128))] }],
    ['BOOL nested', single('BOOL', [-1, -1]), { inputs: [input('x', 'BOOL', [300, 100], rows(300, 100, (i) => i % 3 === 0))] }],
    ['BYTES with brackets, quotes, escapes and unicode', single('BYTES', [-1]), { inputs: [input('x', 'BYTES', [20000], range(20000, (i) => strings[i % strings.length]! + i))] }],
    ['BYTES with one long string among short ones', single('BYTES', [-1]), { inputs: [input('x', 'BYTES', [5], ['a', longString, '[', longString, '"'])] }],
    ['BYTES, long string first and last', single('BYTES', [-1]), { inputs: [input('x', 'BYTES', [2], [longString, longString])] }],
    ['an invalid element far in', single('FP32', [-1]), { inputs: [input('x', 'FP32', [40000], range(40000, (i) => (i === 33333 ? 'oops' : i)))] }],
    ['a long string where numbers belong', single('FP32', [-1]), { inputs: [input('x', 'FP32', [3], [1, 'z'.repeat(100_000), 3])] }],
    ['a long string of escapes where numbers belong', single('FP32', [-1]), { inputs: [input('x', 'FP32', [2], [1, 'é\u0001'.repeat(20_000)])] }],
    ['data a long string', single('FP32', [-1]), { inputs: [input('x', 'FP32', [1], '\u0001'.repeat(20_000))] }],
    ['a long object leaf', single('FP32', [-1]), { inputs: [input('x', 'FP32', [2], [1, { k: 'v'.repeat(100_000) }])] }],
    ['a ragged row far in', single('FP32', [-1, 64]), { inputs: [input('x', 'FP32', [3000, 64], range(3000, (r) => range(r === 2999 ? 63 : 64, (c) => r + c)))] }],
    ['rows over a limit', single('FP32', [-1, 64]), { inputs: [input('x', 'FP32', [3000, 64], rows(3000, 64, (i) => i))] }, { maxRows: 1000, batchAxes: new Map([['x', 0]]) }],
    ['several inputs, the last one bad', every, { inputs: [...specs.map(([name, datatype, shape]) => smallInput(name, datatype, shape)).slice(0, -1), input('scalar', 'FP32', [], ['x'.repeat(70_000)])] }],
    ['a big unknown field', single('FP32', [-1]), { junk: range(50_000), inputs: [input('x', 'FP32', [1], [1])] }],
    ['a big "parameters"', single('FP32', [-1]), { parameters: { junk: range(50_000) }, inputs: [input('x', 'FP32', [1], [1])] }],
    ['a number literal of 70000 digits', single('FP64', [-1]), `{"inputs":[{"name":"x","datatype":"FP64","shape":[2],"data":[1,1.${'0'.repeat(70_000)}]}]}`],
  ];
  for (const [name, signature, request, options] of cases) {
    const body = typeof request === 'string' ? Buffer.from(request) : json(request);
    t.ok(body.byteLength >= SLICED_DECODE_MIN_BYTES || name.includes('long'), `${name}: ${body.byteLength} bytes`);
    const why = await disagreement(body, signature, options);
    if (name === 'a big "parameters"' || name === 'a number literal of 70000 digits') {
      // The two rules of the sliced path alone (a value other than `data`, or one number, over 64 KiB):
      // no body small enough for the sync path holds one.
      const sliced = await attempt(() => decodeInferRequestSliced(body, signature, {}, new TimeSlicer()));
      const expected = name.startsWith('a number')
        ? { code: 'GW_ERR_INVALID_DATA', message: /element 1 is a number written with 70002 characters, more than the 65536 read for one element/ }
        : { code: 'GW_ERR_INVALID_REQUEST', message: /"parameters" takes \d+ bytes of JSON, over the 65536/ };
      t.match(sliced, expected, name);
      continue;
    }
    t.equal(why, undefined, name);
  }
});

function smallInput(name: string, datatype: KServeDatatype, shape: number[]) {
  const concrete = shape.map((d) => (d < 0 ? 2 : d));
  const count = concrete.reduce((a, b) => a * b, 1);
  const value = datatype === 'BOOL' ? true : datatype === 'BYTES' ? 's' : datatype.startsWith('UINT') || datatype.startsWith('INT') ? 1 : 0.5;
  return input(name, datatype, concrete, Array(count).fill(value));
}

t.test('the binary extension: a JSON head with binary tensors after it', async (t) => {
  const f32 = Float32Array.from(range(64 * 2000, (i) => i / 3));
  const bools = Uint8Array.from(range(100_000, (i) => i % 2));
  const sig: ModelSignature = { ...every, inputs: [{ name: 'f', datatype: 'FP32', shape: [-1, 64] }, { name: 'b', datatype: 'BOOL', shape: [-1] }, { name: 's', datatype: 'BYTES', shape: [-1] }] };
  const strings = Buffer.concat(range(5000, (i) => Buffer.concat([Buffer.from(Uint32Array.of(i % 7).buffer), Buffer.alloc(i % 7, 0x61)])) as Buffer[]);
  const body = (b: Uint8Array, s: Uint8Array, stringCount = 5000) => {
    const head = json({ inputs: [input('s', 'BYTES', [stringCount], undefined), input('f', 'FP32', [2000, 64], rows(2000, 64, (i) => i / 3)), { name: 'b', datatype: 'BOOL', shape: [b.byteLength], parameters: { binary_data_size: b.byteLength } }].map((x) => (x.name === 's' ? { ...x, parameters: { binary_data_size: s.byteLength } } : x)) });
    return { body: Buffer.concat([head, s, b]), headerLength: String(head.byteLength) }; // binary data in JSON order: s, then b
  };
  const good = body(bools, strings);
  t.equal(await disagreement(good.body, sig, { binaryHeaderLength: good.headerLength }), undefined, 'JSON and binary inputs mixed');
  const decoded = await decodeInferRequestSliced(good.body, sig, { binaryHeaderLength: good.headerLength }, new TimeSlicer());
  t.same(Buffer.from(decoded.tensors[0]!.data), Buffer.from(f32.buffer), 'the JSON input decodes to the floats sent');
  const badBool = Uint8Array.from(bools);
  badBool[77_777] = 2;
  const bad = body(badBool, strings);
  t.equal(await disagreement(bad.body, sig, { binaryHeaderLength: bad.headerLength }), undefined, 'a BOOL byte 2 far in');
  const short = body(bools, strings, 4999);
  t.equal(await disagreement(short.body, sig, { binaryHeaderLength: short.headerLength }), undefined, 'a BYTES count off by one');
  t.equal(await disagreement(good.body, sig, { binaryHeaderLength: '12' }), undefined, 'a header length that cuts the JSON');
  t.equal(await disagreement(good.body, sig, { binaryHeaderLength: 'x' }), undefined, 'a header length that is no number');
});

t.test('a body cut anywhere is refused alike', async (t) => {
  const request = {
    id: 'cut',
    parameters: { p: [true, null, { q: 'r' }] },
    inputs: [
      input('f', 'FP32', [3, 2], [[1.5, -2e-3], ['NaN', 4], [5, 6e10]]),
      input('s', 'BYTES', [4], ['a[b', 'c"d\\', '\u00e9\ud83d\ude00', '']),
      input('i64', 'INT64', [1, 2], [['9223372036854775807', -1]]),
    ],
    outputs: [{ name: 'y' }],
  };
  const sig: ModelSignature = { ...every, inputs: every.inputs.filter((s) => ['f', 's', 'i64'].includes(s.name)) };
  const small = json(request);
  let disagreements = 0;
  for (let cut = 0; cut <= small.byteLength; cut++) {
    const why = await disagreement(small.subarray(0, cut), sig);
    if (why) t.fail(`cut at ${cut}: ${why}`), disagreements++;
  }
  const large = json({ ...request, inputs: [input('f', 'FP32', [30000, 2], rows(30000, 2, (i) => i / 7)), ...request.inputs.slice(1)] });
  for (let k = 0; k < 200; k++) {
    const cut = Math.floor((large.byteLength * k) / 200) + (k % 7);
    const why = await disagreement(large.subarray(0, cut), sig);
    if (why) t.fail(`cut at ${cut} of ${large.byteLength}: ${why}`), disagreements++;
  }
  t.equal(disagreements, 0, `no disagreement over ${small.byteLength + 1} cuts of a small body and 200 of a ${large.byteLength} byte one`);
});

const goodValue: Record<KServeDatatype, fc.Arbitrary<unknown>> = {
  FP32: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom('NaN', 'Infinity', '-Infinity', 3.4e38, -0, 0.1)),
  FP64: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('NaN', 'Infinity', '-Infinity')),
  FP16: fc.oneof(fc.double({ min: -65504, max: 65504, noNaN: true }), fc.constantFrom('NaN', '-Infinity', 65504)),
  INT8: fc.integer({ min: -128, max: 127 }),
  INT16: fc.integer({ min: -32768, max: 32767 }),
  INT32: fc.integer(),
  UINT8: fc.integer({ min: 0, max: 255 }),
  UINT16: fc.integer({ min: 0, max: 65535 }),
  UINT32: fc.integer({ min: 0, max: 4294967295 }),
  INT64: fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
  UINT64: fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)),
  BOOL: fc.boolean(),
  BYTES: fc.string({ unit: fc.constantFrom('[', ']', ',', '"', '\\', '/', 'a', 'é', '🙂', '\u0000', '\ud800', '\udfff', '\n', ' ') }),
};
const junk = fc.constantFrom<unknown>(null, 'x', true, {}, [], 1.5, -1, 'NaN', '1', 300, 70000, 1e20, 2 ** 60, '18446744073709551616');

/** `values` nested as `shape` (row-major). */
function nest(values: readonly unknown[], shape: readonly number[]): unknown[] {
  if (shape.length <= 1) return [...values];
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return range(shape[0]!, (i) => nest(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

type Fault = 'none' | 'ragged' | 'junk' | 'drop' | 'duplicate' | 'unknown input' | 'unknown output';

/**
 * A request for `every`: all its inputs in random order, each flat or nested,
 * with valid values, then at most one fault, so that most requests decode and
 * each kind of refusal is well represented.
 */
const requestArb = fc
  .record({
    dims: fc.array(fc.constantFrom(0, 1, 2, 3), { minLength: 3, maxLength: 3 }),
    order: fc.shuffledSubarray(specs, { minLength: specs.length, maxLength: specs.length }),
    fault: fc.constantFrom<Fault>('none', 'none', 'none', 'none', 'ragged', 'junk', 'junk', 'drop', 'duplicate', 'unknown input', 'unknown output'),
    at: fc.nat(),
    id: fc.option(fc.string(), { nil: undefined }),
    outputs: fc.constantFrom<unknown>(undefined, [], [{ name: 'y' }], [{ name: 'z', parameters: { binary_data: true } }, { name: 'y' }]),
    indent: fc.constantFrom(0, 0, 0, 1, '\t'),
  })
  .chain((r) => {
    const shapes = r.order.map(([, , shape]) => shape.map((d, i) => (d < 0 ? r.dims[i]! : d)));
    const data = r.order.map(([, datatype], k) => fc.tuple(fc.array(goodValue[datatype], { minLength: shapes[k]!.reduce((a, b) => a * b, 1), maxLength: shapes[k]!.reduce((a, b) => a * b, 1) }), fc.boolean(), junk));
    return fc.tuple(...data).map((chosen) => {
      const inputs: Array<Record<string, unknown>> = chosen.map(([values, nested, bad], k) => {
        const [name, datatype] = r.order[k]!;
        const shape = shapes[k]!;
        const faulty = r.at % chosen.length === k;
        const v = [...values];
        if (faulty && r.fault === 'junk' && v.length > 0) v[r.at % v.length] = bad;
        let d: unknown[] = nested ? nest(v, shape) : v;
        if (faulty && r.fault === 'ragged') d = nested && shape.length > 1 && d.length > 0 ? [...d.slice(0, -1), (d.at(-1) as unknown[]).slice(1)] : [...d, v[0] ?? 1];
        return input(name, datatype, shape, d);
      });
      const k = r.at % inputs.length;
      if (r.fault === 'drop') inputs.splice(k, 1);
      if (r.fault === 'duplicate') inputs.push(inputs[k]!);
      if (r.fault === 'unknown input') inputs.splice(k, 0, input('extra', 'FP32', [1], [1]));
      const outputs = r.fault === 'unknown output' ? [{ name: 'nope' }] : r.outputs;
      return JSON.stringify({ ...(r.id !== undefined ? { id: r.id } : {}), inputs, ...(outputs !== undefined ? { outputs } : {}) }, null, r.indent);
    });
  });

t.test('generated requests decode alike (fast-check)', async (t) => {
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(requestArb, async (body) => {
      const why = await disagreement(Buffer.from(body), every);
      if (why) throw new Error(`${why}\nbody: ${body.slice(0, 2000)}`);
      const outcome = await attempt(() => decodeInferRequest(Buffer.from(body), every));
      const key = 'code' in outcome ? outcome.code : 'decoded';
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }),
    { numRuns: 400 },
  );
  t.ok((outcomes.get('decoded') ?? 0) >= 100, `a fair share decodes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  for (const code of ['GW_ERR_ELEMENT_COUNT', 'GW_ERR_INVALID_DATA', 'GW_ERR_MISSING_INPUT']) t.ok(outcomes.has(code), `some end in ${code}`);
});

t.test('bodies with random bytes changed decode alike (fast-check)', async (t) => {
  const base = json({
    id: 'm',
    inputs: [input('f', 'FP32', [2, 2], [[1.5, 'NaN'], [-0, 2e5]]), input('s', 'BYTES', [2], ['a"[', 'é\\']), input('i64', 'INT64', [1, 2], [['-9', 7]])],
  });
  const sig: ModelSignature = { ...every, inputs: every.inputs.filter((s) => ['f', 's', 'i64'].includes(s.name)) };
  const byte = fc.oneof(fc.constantFrom(...Buffer.from('{}[]",:\\/0123456789.eE+-tfnul \t\r\nxu')), fc.integer({ min: 0, max: 255 }));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(base.byteLength - 1), byte), { minLength: 1, maxLength: 3 }), async (changes) => {
      const body = Buffer.from(base);
      for (const [at, value] of changes) body[at] = value;
      const why = await disagreement(body, sig);
      if (why) throw new Error(`${why}\nbody: ${body.toString('latin1')}`);
    }),
    { numRuns: 1500 },
  );
  t.pass('1500 mutated bodies');
});

t.test('large bodies with a byte changed anywhere decode alike (fast-check)', async (t) => {
  const sig: ModelSignature = { ...every, inputs: every.inputs.filter((s) => ['f', 's', 'i64'].includes(s.name)) };
  const base = json({
    inputs: [
      input('s', 'BYTES', [3000], range(3000, (i) => `${i % 2 ? '[' : ']'}"\\é,${i}`)),
      input('f', 'FP32', [5000, 4], rows(5000, 4, (i) => (i % 333 === 0 ? 'NaN' : i / 8))),
      input('i64', 'INT64', [2000, 2], rows(2000, 2, (i) => (i % 2 ? String(-i) : i))),
    ],
  });
  t.ok(base.byteLength > SLICED_DECODE_MIN_BYTES, `${base.byteLength} bytes`);
  const byte = fc.constantFrom(...Buffer.from('{}[]",:\\0-.e tx'));
  await fc.assert(
    fc.asyncProperty(fc.nat(base.byteLength - 1), byte, async (at, value) => {
      const body = Buffer.from(base);
      body[at] = value;
      const why = await disagreement(body, sig);
      if (why) throw new Error(`${why}\nat ${at}: ${body.subarray(Math.max(0, at - 40), at + 40).toString('latin1')}`);
    }),
    { numRuns: 60 },
  );
  t.pass('60 changed bodies');
});

t.test('arbitrary JSON texts as bodies decode alike (fast-check)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.json(), async (text) => {
      const why = await disagreement(Buffer.from(text), every);
      if (why) throw new Error(`${why}\nbody: ${text}`);
    }),
    { numRuns: 300 },
  );
  t.pass('300 JSON texts');
});

t.test('the sliced decoder yields to the event loop and never parses the body whole', async (t) => {
  // Mostly plain numbers (read without JSON.parse), some "NaN" strings (chunks JSON.parse'd).
  const body = json({ inputs: [input('x', 'FP32', [40_000, 64], rows(40_000, 64, (i) => (i % 50_000 === 7 ? 'NaN' : (i % 1000) / 10)))] });
  t.ok(body.byteLength > 8_000_000, `a ${(body.byteLength / 1e6).toFixed(1)} MB body`);
  const slicer = new TimeSlicer({ sliceMs: 0 });
  let longestParse = 0;
  const parse = JSON.parse;
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
    longestParse = Math.max(longestParse, text.length);
    return parse(text, reviver);
  }) as typeof JSON.parse;
  let immediates = 0;
  const ticker = setInterval(() => immediates++, 0);
  try {
    const decoded = await decodeInferRequestSliced(body, single('FP32', [-1, 64]), {}, slicer);
    t.equal(decoded.tensors[0]!.data.byteLength, 40_000 * 64 * 4);
  } finally {
    JSON.parse = parse;
    clearInterval(ticker);
  }
  t.ok(slicer.yields >= 100, `yielded ${slicer.yields} times`);
  t.ok(immediates > 0, 'timers ran while it decoded');
  t.ok(longestParse <= 256 * 1024, `the longest text given to JSON.parse had ${longestParse} characters`);
});
