// Property-based fuzzing of the KServe v2 JSON decoder and its binary tensor
// extension (issue 18, item 5): for any body, decodeInferRequest either
// returns tensors that round-trip (re-sent as binary they decode to the same
// bytes; a valid request decodes to the bytes of an independent encoding of
// its values), or throws an InfergateError with a catalogued code. The sliced
// decoder gives the same outcome (the same bytes, or the same code).

import fc from 'fast-check';
import t from 'tap';
import { decodeInferRequest, decodeInferRequestSliced, type DecodeOptions } from '../../common/kserve/decode-request.ts';
import { TimeSlicer } from '../../common/time-slice.ts';
import type { ModelSignature } from '../../common/wire.ts';
import {
  asyncOutcomeOf,
  BYTE_EDIT,
  checkRoundTrip,
  damage,
  MUTATION,
  mutate,
  outcomeOf,
  RUNS,
  SIGNATURE_LIST,
  SIGNATURES,
  validRequest,
  type Outcome,
} from './fuzz-support.ts';

const HOSTILE_SIZE = fc.constantFrom<unknown>(-1, 1.5, '4', null, 2 ** 53, 2 ** 32 + 4, true);
const anySignature = fc.constantFrom(...SIGNATURE_LIST);
const anyOptions: fc.Arbitrary<DecodeOptions> = fc.constantFrom<DecodeOptions>({}, { maxElements: 64 }, { maxElements: 4096, maxRows: 3, batchAxes: new Map([['x', 0], ['ids', 0]]) });

const sameOutcome = (a: Outcome, b: Outcome): boolean => {
  if ('code' in a || 'code' in b) return 'code' in a && 'code' in b && a.code === b.code;
  return a.tensors.length === b.tensors.length && a.tensors.every((x, i) => Buffer.from(x.data).equals(Buffer.from(b.tensors[i]!.data)) && JSON.stringify(x.shape) === JSON.stringify(b.tensors[i]!.shape));
};

/** Both decoders on one body: the same outcome, catalogued or round-tripping. */
async function checkBody(body: Uint8Array, signature: ModelSignature, options: DecodeOptions): Promise<Outcome> {
  const sync = outcomeOf(() => decodeInferRequest(body, signature, options));
  const sliced = await asyncOutcomeOf(() => decodeInferRequestSliced(body, signature, options, new TimeSlicer()));
  if (!sameOutcome(sync, sliced)) {
    throw new Error(`decodeInferRequest gave ${'code' in sync ? sync.code : 'tensors'}, decodeInferRequestSliced ${'code' in sliced ? sliced.code : 'tensors'}`);
  }
  if ('tensors' in sync) checkRoundTrip(sync.tensors, signature);
  return sync;
}

t.test('arbitrary bytes', async (t) => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), anySignature, anyOptions, async (body, signature, options) => void (await checkBody(body, signature, options))), { numRuns: RUNS });
  t.pass('decoded or refused with a catalogued code');
});

t.test('arbitrary JSON, alone and as a request envelope', async (t) => {
  const envelope = fc.oneof(
    fc.jsonValue({ maxDepth: 5 }),
    fc.record({ inputs: fc.jsonValue({ maxDepth: 4 }) }),
    fc.record({ inputs: fc.array(fc.record({ name: fc.constantFrom('x', 'ids', 's', 'b', 'z'), datatype: fc.jsonValue({ maxDepth: 1 }), shape: fc.jsonValue({ maxDepth: 2 }), data: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }), { maxLength: 5 }), outputs: fc.jsonValue({ maxDepth: 3 }), parameters: fc.jsonValue({ maxDepth: 2 }), id: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['inputs'] }),
  );
  await fc.assert(fc.asyncProperty(envelope, anySignature, anyOptions, async (json, signature, options) => void (await checkBody(Buffer.from(JSON.stringify(json)), signature, options))), { numRuns: RUNS });
  t.pass('decoded or refused with a catalogued code');
});

t.test('valid requests decode to the bytes of an independent encoding of their values', async (t) => {
  const cases = fc.constantFrom(...SIGNATURE_LIST).chain((signature) => validRequest(signature).map((valid) => ({ signature, ...valid })));
  await fc.assert(
    fc.asyncProperty(cases, async ({ signature, request, expected }) => {
      const outcome = await checkBody(Buffer.from(JSON.stringify(request)), signature, {});
      if ('code' in outcome) throw new Error(`a valid request was refused: ${outcome.code}`);
      outcome.tensors.forEach((tensor, i) => {
        if (!Buffer.from(tensor.data).equals(Buffer.from(expected[i]!))) throw new Error(`input ${tensor.name}: decoded bytes differ from the independent encoding`);
      });
    }),
    { numRuns: RUNS },
  );
  t.pass('valid requests decode to the expected bytes');
});

t.test('near-valid requests: fields deleted, replaced, wrapped, unwrapped', async (t) => {
  const cases = fc.constantFrom(...SIGNATURE_LIST).chain((signature) =>
    fc.record({ signature: fc.constant(signature), valid: validRequest(signature), mutations: fc.array(MUTATION, { minLength: 1, maxLength: 3 }), options: anyOptions }),
  );
  await fc.assert(fc.asyncProperty(cases, async ({ signature, valid, mutations, options }) => void (await checkBody(Buffer.from(JSON.stringify(mutate(valid.request, mutations))), signature, options))), { numRuns: RUNS * 2 });
  t.pass('decoded or refused with a catalogued code');
});

t.test('damaged bytes of valid requests: flips, truncation, insertions', async (t) => {
  const cases = fc.constantFrom(...SIGNATURE_LIST).chain((signature) => fc.record({ signature: fc.constant(signature), valid: validRequest(signature), edits: fc.array(BYTE_EDIT, { minLength: 1, maxLength: 4 }) }));
  await fc.assert(fc.asyncProperty(cases, async ({ signature, valid, edits }) => void (await checkBody(damage(Buffer.from(JSON.stringify(valid.request)), edits), signature, {}))), { numRuns: RUNS });
  t.pass('decoded or refused with a catalogued code');
});

// --- the binary tensor data extension ---

type BinaryCase = { signature: ModelSignature; head: unknown; tensors: Uint8Array[]; headerLength: string; edits: Parameters<typeof damage>[1] };

/** A valid binary request (some inputs binary, some JSON), then its JSON head mutated, its tail damaged or its header length wrong. */
const binaryCase: fc.Arbitrary<BinaryCase> = fc.constantFrom(...SIGNATURE_LIST).chain((signature) =>
  fc
    .record({
      valid: validRequest(signature),
      binary: fc.array(fc.boolean(), { minLength: signature.inputs.length, maxLength: signature.inputs.length }),
      mutations: fc.array(MUTATION, { maxLength: 2 }),
      edits: fc.array(BYTE_EDIT, { maxLength: 2 }),
      headerLength: fc.oneof({ weight: 6, arbitrary: fc.constant('exact') }, { weight: 1, arbitrary: fc.constantFrom('', ' 12', '-1', '1e3', '0x10', '99999999999999999999', 'abc', '0') }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }).map(String) }),
    })
    .map(({ valid, binary, mutations, edits, headerLength }) => {
      const tensors: Uint8Array[] = [];
      const inputs = (valid.request.inputs as Array<Record<string, unknown>>).map((input) => {
        const i = signature.inputs.findIndex((spec) => spec.name === input.name);
        if (!binary[i]) return input;
        tensors.push(valid.expected[i]!);
        const { data: _data, ...rest } = input;
        return { ...rest, parameters: { binary_data_size: valid.expected[i]!.byteLength } };
      });
      return { signature, head: mutate({ ...valid.request, inputs }, mutations), tensors, headerLength, edits };
    }),
);

t.test('binary extension: JSON head + binary section, head mutated, tail damaged, header length wrong', async (t) => {
  await fc.assert(
    fc.asyncProperty(binaryCase, async ({ signature, head, tensors, headerLength, edits }) => {
      const json = Buffer.from(JSON.stringify(head));
      const tail = damage(Buffer.concat(tensors), edits);
      let length = headerLength;
      if (headerLength === 'exact') length = String(json.byteLength);
      else if (/^-?\d$/.test(headerLength)) length = String(json.byteLength + Number(headerLength));
      await checkBody(Buffer.concat([json, tail]), signature, { binaryHeaderLength: length });
    }),
    { numRuns: RUNS },
  );
  t.pass('decoded or refused with a catalogued code');
});

t.test('binary extension: arbitrary binary_data_size and datatypes against arbitrary tails', async (t) => {
  const input = fc.record({
    name: fc.constantFrom('x', 'ids', 's', 'b'),
    datatype: fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', 'FP16', 'UINT8', 'NOPE'),
    shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 6 }), fc.constantFrom(2 ** 31, 2 ** 53, 0.5)), { maxLength: 3 }),
    parameters: fc.record({ binary_data_size: fc.oneof(fc.integer({ min: 0, max: 40 }), HOSTILE_SIZE) }, { requiredKeys: [] }),
  });
  const cases = fc.record({ signature: anySignature, inputs: fc.array(input, { maxLength: 5 }), tail: fc.uint8Array({ maxLength: 80 }) });
  await fc.assert(
    fc.asyncProperty(cases, async ({ signature, inputs, tail }) => {
      const json = Buffer.from(JSON.stringify({ inputs }));
      await checkBody(Buffer.concat([json, tail]), signature, { binaryHeaderLength: String(json.byteLength) });
    }),
    { numRuns: RUNS },
  );
  t.pass('decoded or refused with a catalogued code');
});

t.test('a FP32 [-1,4] tensor sent as JSON and as binary decodes to the same bytes', async (t) => {
  await fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }).chain((rows) => fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: rows * 4, maxLength: rows * 4 })), (values) => {
      const rows = values.length / 4;
      const asJson = decodeInferRequest(Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 4], data: values }] })), SIGNATURES.fp32);
      const bytes = Buffer.from(asJson.tensors[0]!.data);
      const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 4], parameters: { binary_data_size: bytes.byteLength } }] }));
      const asBinary = decodeInferRequest(Buffer.concat([head, bytes]), SIGNATURES.fp32, { binaryHeaderLength: String(head.byteLength) });
      return Buffer.from(asBinary.tensors[0]!.data).equals(bytes);
    }),
    { numRuns: RUNS },
  );
  t.pass('same bytes');
});
