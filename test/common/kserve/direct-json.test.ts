// The direct JSON path of decodeInferRequest (direct-json.ts) against the
// JSON.parse path it falls back to (decodeInferRequestParsed): for generated
// valid and damaged bodies both give the same request and byte-identical
// tensors, or the same error code and message; and the direct path really
// handles the common request shapes (else these comparisons would pass on a
// fast path that always falls back).

import fc from 'fast-check';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import type { KServeDatatype } from '../../../common/datatypes.ts';
import { InfergateError } from '../../../common/errors.ts';
import { decodeInferRequest, decodeInferRequestParsed, type DecodeOptions } from '../../../common/kserve/decode-request.ts';
import { readDirectJson } from '../../../common/kserve/direct-json.ts';
import type { ModelSignature, TensorSpec } from '../../../common/wire.ts';
import { classifier, ranker } from './signatures.ts';

const RUNS = 400;
const LIMITS = { maxElements: 2 ** 24 };

type Outcome = { code: string; message: string } | { decoded: unknown };

function outcome(decode: () => ReturnType<typeof decodeInferRequest>): Outcome {
  try {
    const d = decode();
    return { decoded: { ...d, tensors: d.tensors.map((x) => ({ ...x, data: Buffer.from(x.data).toString('hex') })) } };
  } catch (err) {
    if (!(err instanceof InfergateError)) throw err;
    return { code: err.code, message: err.message };
  }
}

function sameAsParsed(body: Uint8Array, signature: ModelSignature, options: DecodeOptions = {}): boolean {
  const direct = outcome(() => decodeInferRequest(body, signature, { ...options, directMinBytes: 0 }));
  const parsed = outcome(() => decodeInferRequestParsed(body, signature, options));
  if (isDeepStrictEqual(direct, parsed)) return true;
  throw new Error(`direct ${JSON.stringify(direct).slice(0, 300)}\nparsed ${JSON.stringify(parsed).slice(0, 300)}\nbody ${Buffer.from(body).toString().slice(0, 400)}`);
}

// ── generated signatures and requests ───────────────────────────────────────

const NUMERIC: KServeDatatype[] = ['FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'BOOL'];
const RANGE: Partial<Record<KServeDatatype, [number, number]>> = {
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-(2 ** 31), 2 ** 31 - 1], INT64: [-(2 ** 53) + 1, 2 ** 53 - 1],
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 2 ** 32 - 1], UINT64: [0, 2 ** 53 - 1],
};

const specArb = (name: string): fc.Arbitrary<TensorSpec> =>
  fc.record({
    name: fc.constant(name),
    datatype: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...NUMERIC) }, { weight: 1, arbitrary: fc.constant<KServeDatatype>('BYTES') }),
    shape: fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 4 })), { maxLength: 3 }),
  });

const signatureArb: fc.Arbitrary<ModelSignature> = fc
  .uniqueArray(fc.constantFrom('input', 'x', 'ids', 'mask', 'a_b'), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map(specArb)))
  .map((inputs) => ({ fingerprint: 'f', name: 'm', version: '1', inputs, outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1] }] }));

/** Float texts in many notations, and the hard cases: FP32/FP16 bounds, 17 digits, near rounding midpoints. */
const SPECIAL_FLOATS = [
  '-0', '0', '0.0', '0e5', '0.1', '1e-7', '-2.5e-3', '1E+2', '3.4028235e38', '3.4028236e38', '3.40282357e38', '1e39', '-1e39', '1e400', '1e-400',
  '65504', '65519', '65520', '1e-8', '5.960464477539063e-8', '0.10000000149011612', '1.0000000000000002', '1.0000000596046448', '1.0000000596046446',
  '1.00000005960464477539', '123456789012345678', '9007199254740993', '0.30000000000000004', '1.5e-30', '2.5e22', '2.5e23', '100000000000000000000000',
];
const floatText = fc.oneof(
  fc.constantFrom(...SPECIAL_FLOATS),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((v) => JSON.stringify(v)),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)),
  fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }), fc.integer({ min: 0, max: 19 })).map(([v, k]) => v.toExponential(k)),
  fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }), fc.integer({ min: 0, max: 20 })).map(([v, k]) => v.toFixed(k)),
);

function intText(datatype: KServeDatatype): fc.Arbitrary<string> {
  const [min, max] = RANGE[datatype]!;
  return fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom(String(min), String(max), String(min - 1), String(max + 1), '-0', '1.5', '1e2', '2.0', '9007199254740993', '1e400', '"7"') },
  );
}

function valueText(datatype: KServeDatatype): fc.Arbitrary<string> {
  if (datatype === 'BOOL') return fc.constantFrom('true', 'false', 'true', 'false', '0', '1');
  if (datatype === 'BYTES') return fc.constantFrom('"a"', '""', '"x y"');
  if (datatype.startsWith('FP')) return floatText;
  return intText(datatype);
}

const ws = fc.constantFrom('', '', '', ' ', '\n  ', '\t', '\r\n');

/** A JSON object's text from member texts, in a random key order with random whitespace. */
function objectText(members: [string, string][]): fc.Arbitrary<string> {
  return fc.tuple(fc.shuffledSubarray(members, { minLength: members.length }), fc.array(ws, { minLength: 4 * members.length + 2, maxLength: 4 * members.length + 2 })).map(([order, w]) => {
    let i = 0;
    return `{${w[i++]}${order.map(([k, v]) => `${w[i++]}"${k}"${w[i++]}:${w[i++]}${v}`).join(`,${w[i++]}`)}${w[i++]}}`;
  });
}

/** Flat or nested (as the shape) data text of `values`. */
function dataText(values: string[], shape: number[], nested: boolean): string {
  if (!nested || shape.length <= 1) return `[${values.join(',')}]`;
  const nest = (from: number, d: number): string => {
    if (d === shape.length - 1) return `[${values.slice(from, from + shape[d]!).join(', ')}]`;
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    return `[${Array.from({ length: shape[d]! }, (_, i) => nest(from + i * stride, d + 1)).join(',')}]`;
  };
  return nest(0, 0);
}

function inputText(spec: TensorSpec): fc.Arbitrary<string> {
  const shapeArb = fc.tuple(...spec.shape.map((dim) => (dim >= 0 ? fc.constant(dim) : fc.integer({ min: 0, max: 4 }))));
  return fc.tuple(shapeArb, fc.boolean(), fc.option(fc.constantFrom('{}', '{"note":"n"}', '{"k":[1,2.5,null,true]}'), { nil: undefined })).chain(([shape, nested, parameters]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    return fc.array(valueText(spec.datatype), { minLength: count, maxLength: count }).chain((values) =>
      objectText([
        ['name', JSON.stringify(spec.name)],
        ['datatype', JSON.stringify(spec.datatype)],
        ['shape', JSON.stringify(shape)],
        ['data', dataText(values, shape, nested)],
        ...(parameters ? ([['parameters', parameters]] as [string, string][]) : []),
      ]),
    );
  });
}

function requestText(signature: ModelSignature): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.tuple(...signature.inputs.map(inputText)),
      fc.option(fc.constantFrom('"r1"', '""', '"req-42"', '7'), { nil: undefined }),
      fc.option(fc.constantFrom('{}', '{"priority":2}', '{"binary_data_output":false}', '{"a":{"b":[-0,1e2,"x"]}}'), { nil: undefined }),
      fc.option(fc.constantFrom('[]', '[{"name":"probabilities"}]', '[{"name":"out"},{"name":"probabilities","parameters":{"binary_data":true}}]', '[{"name":"nope"}]'), { nil: undefined }),
    )
    .chain(([inputs, id, parameters, outputs]) =>
      objectText([
        ['inputs', `[${inputs.join(',')}]`],
        ...(id ? ([['id', id]] as [string, string][]) : []),
        ...(parameters ? ([['parameters', parameters]] as [string, string][]) : []),
        ...(outputs ? ([['outputs', outputs]] as [string, string][]) : []),
      ]),
    );
}

const INSERTS = ['"x"', 'null', 'true', '[', ']', '{', '}', ',', ':', '0', '-', '.', 'e', '1', '"data":[1],', '"name":"x",', '"extra":1,', '\\', 'é', ' '];

/** A damaged copy of a request text: truncated, a byte changed, text inserted, or a field removed. */
const damage = (text: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat(text.length).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat(text.length - 1), fc.integer({ min: 0x20, max: 0x7e })).map(([i, c]) => text.slice(0, i) + String.fromCharCode(c) + text.slice(i + 1)),
    fc.tuple(fc.nat(text.length), fc.constantFrom(...INSERTS)).map(([i, s]) => text.slice(0, i) + s + text.slice(i)),
    fc.constantFrom(...['"name"', '"datatype"', '"shape"', '"data"', '"FP32"', '"INT64"']).map((s) => text.replace(s, s === '"FP32"' ? '"FP64"' : s === '"INT64"' ? '"INT32"' : `"${s.slice(1, -1)}2"`)),
  );

// ── properties ──────────────────────────────────────────────────────────────

t.test('valid generated requests decode exactly as through JSON.parse', async (t) => {
  let handled = 0;
  fc.assert(fc.property(signatureArb.chain((s) => fc.tuple(fc.constant(s), requestText(s))), ([signature, text]) => {
    if (readDirectJson(Buffer.from(text), signature, LIMITS)) handled++;
    return sameAsParsed(Buffer.from(text), signature);
  }), { numRuns: RUNS });
  // Most generated requests hold some value the fast path leaves to JSON.parse; a good share must still be read directly.
  t.ok(handled > RUNS / 10, `handled directly: ${handled} of ${RUNS}`);
});

t.test('damaged requests give the same error (or the same result) as through JSON.parse', async (t) => {
  const arb = signatureArb.chain((s) => fc.tuple(fc.constant(s), requestText(s).chain(damage)));
  fc.assert(fc.property(arb, ([signature, text]) => sameAsParsed(Buffer.from(text), signature)), { numRuns: RUNS });
  t.pass('same outcome');
});

t.test('limits and the binary extension leave every decision to the JSON.parse path', async (t) => {
  const arb = signatureArb.chain((s) => fc.tuple(fc.constant(s), requestText(s), fc.constantFrom<DecodeOptions>({ maxElements: 4 }, { maxElements: 64, maxRows: 1, batchAxes: new Map([['input', 0], ['x', 0]]) }, { binaryHeaderLength: '0' })));
  fc.assert(fc.property(arb, ([signature, text, options]) => {
    const body = Buffer.from(text);
    return sameAsParsed(options.binaryHeaderLength === undefined ? body : Buffer.concat([body]), signature, options.binaryHeaderLength === undefined ? options : { binaryHeaderLength: String(body.length) });
  }), { numRuns: RUNS / 4 });
  t.pass('same outcome');
});

// ── the fast path really runs ───────────────────────────────────────────────

const f32 = (n: number): number[] => Array.from(Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 3));
const numericSignature: ModelSignature = {
  fingerprint: 'f', name: 'numeric', version: '1',
  inputs: NUMERIC.map((datatype, i) => ({ name: `t${i}`, datatype, shape: [-1, 2] })),
  outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }],
};

t.test('the direct path handles the common shapes', async (t) => {
  const handled: Array<[string, unknown, ModelSignature]> = [
    ['classifier, one row, float32 printed with 17 digits', { id: 'r1', inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: f32(64) }], outputs: [{ name: 'probabilities' }] }, classifier],
    ['classifier, a nested batch', { inputs: [{ name: 'input', shape: [32, 64], datatype: 'FP32', data: Array.from({ length: 32 }, () => f32(64)) }] }, classifier],
    ['classifier, short decimals, parameters', { parameters: { priority: 1, tags: ['a'] }, inputs: [{ datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => i / 8 - 2), shape: [1, 64], name: 'input' }] }, classifier],
    ['ranker, FP32 and INT64', { inputs: [{ name: 'item_ids', datatype: 'INT64', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, -8] }, { name: 'features', datatype: 'FP32', shape: [2, 16], data: f32(32) }] }, ranker],
    ['every numeric datatype and BOOL', { inputs: NUMERIC.map((datatype, i) => ({ name: `t${i}`, datatype, shape: [1, 2], data: datatype === 'BOOL' ? [true, false] : [1, 0] })) }, numericSignature],
  ];
  for (const [name, request, signature] of handled) {
    for (const text of [JSON.stringify(request), JSON.stringify(request, null, 2)]) {
      const body = Buffer.from(text);
      t.not(readDirectJson(body, signature, LIMITS), undefined, `${name}: handled`);
      t.ok(sameAsParsed(body, signature), `${name}: same as through JSON.parse`);
    }
  }
});

t.test('the direct path hands unusual or invalid requests back', async (t) => {
  const row = JSON.stringify(f32(64));
  const notHandled: Array<[string, string]> = [
    ['a string in data', `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":["NaN",${row.slice(1 + row.indexOf(',') - 1 + 1)}]}]}`],
    ['an escape in the id', `{"id":"r\\u0031","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":${row}}]}`],
    ['a duplicate key', `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":${row},"data":${row}}]}`],
    ['an unknown key', `{"model":"c","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":${row}}]}`],
    ['one element short', `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[${f32(63).join(',')}]}]}`],
    ['an FP32 overflow', `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[1e39,${f32(63).join(',')}]}]}`],
    ['a byte-order mark', `\ufeff{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":${row}}]}`],
  ];
  for (const [name, text] of notHandled) {
    const body = Buffer.from(text);
    t.equal(readDirectJson(body, classifier, LIMITS), undefined, `${name}: not handled`);
    t.ok(sameAsParsed(body, classifier), `${name}: same outcome as through JSON.parse`);
  }
  const fp64: ModelSignature = { ...classifier, inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, 2] }] };
  const long = Buffer.from('{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":[0.10000000149011612,1]}]}');
  t.equal(readDirectJson(long, fp64, LIMITS), undefined, 'FP64 with 17 digits: not handled (no certain double)');
  t.ok(sameAsParsed(long, fp64));
});

t.test('FP32/FP16 values of 16–19 digits at a rounding midpoint: certified or handed back, never misrounded', async (t) => {
  // The midpoint between a float and the next is a double; written with 16–19 digits it reads back as that
  // double (ties to even), or a double beside it: where an approximate reading could round the other way.
  const signature = (datatype: KServeDatatype): ModelSignature => ({ ...classifier, inputs: [{ name: 'input', datatype, shape: [-1] }] });
  const arb = fc.tuple(
    fc.constantFrom<KServeDatatype>('FP32', 'FP16'),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 16, max: 19 })), { minLength: 1, maxLength: 32 }),
  );
  // Any float's bits (fc.float favours short values, whose midpoints have few digits and read exactly).
  const floatOf = (datatype: KServeDatatype, bits: number): number =>
    datatype === 'FP32' ? new Float32Array(new Uint32Array([bits]).buffer)[0]! : new Float16Array(new Uint16Array([bits & 0xffff]).buffer)[0]!;
  let handled = 0;
  fc.assert(fc.property(arb, ([datatype, values]) => {
    const texts = values.map(([bits, digits]) => {
      const f = floatOf(datatype, bits);
      if (!Number.isFinite(f)) return '1.0000000596046448';
      const round = datatype === 'FP32' ? Math.fround : Math.f16round;
      let next = f + Math.max(Math.abs(f) * 2 ** -23, 2 ** -149);
      while (round(next) === round(f)) next += Math.abs(next - f);
      return ((f + round(next)) / 2).toPrecision(digits);
    });
    const body = Buffer.from(`{"inputs":[{"name":"input","shape":[${texts.length}],"datatype":"${datatype}","data":[${texts.join(',')}]}]}`);
    if (readDirectJson(body, signature(datatype), LIMITS)) handled++;
    return sameAsParsed(body, signature(datatype));
  }), { numRuns: RUNS });
  t.ok(handled > 0, `some handled (${handled} of ${RUNS})`);
});
