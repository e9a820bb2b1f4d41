// Property-based fuzzing of the other fronts' decoders (issue 18, item 5):
// the TF Serving predict body (decodePredictBody) and the gRPC infer message
// (decodeGrpcInferRequest). For any input they return tensors that round-trip
// through the KServe binary extension, or throw an InfergateError with a
// catalogued code; nothing else.

import fc from 'fast-check';
import t from 'tap';
import type { DecodeOptions } from '../../common/kserve/decode-request.ts';
import { decodeGrpcInferRequest, type GrpcContents, type GrpcInferRequest, type GrpcParameter } from '../../gateway/grpc/grpc-tensors.ts';
import { decodePredictBody } from '../../gateway/http/tfserving-request.ts';
import { BYTE_EDIT, checkRoundTrip, damage, HOSTILE_VALUE, MUTATION, mutate, outcomeOf, RUNS, SIGNATURE_LIST, SIGNATURES } from './fuzz-support.ts';

const anySignature = fc.constantFrom(...SIGNATURE_LIST);
const anyOptions: fc.Arbitrary<DecodeOptions> = fc.constantFrom<DecodeOptions>({}, { maxElements: 64 }, { maxElements: 4096, maxRows: 3, batchAxes: new Map([['x', 0], ['ids', 0]]) });

// --- TF Serving ---

function checkPredict(body: Uint8Array, signature: (typeof SIGNATURE_LIST)[number], options: DecodeOptions): void {
  const outcome = outcomeOf(() => decodePredictBody(body, signature, options));
  if ('tensors' in outcome) checkRoundTrip(outcome.tensors, signature);
}

const float = fc.float({ noNaN: true, noDefaultInfinity: true });
/** A value of one input, as TF Serving sends it: nested lists of numbers, ints as strings, booleans, strings, {"b64"}. */
const leaf = fc.oneof(float, fc.integer(), fc.boolean(), fc.string({ maxLength: 6 }), fc.base64String({ maxLength: 12 }).map((b64) => ({ b64 })), fc.constantFrom<unknown>('NaN', '-Infinity', '9223372036854775807', null));
const tfValue = fc.oneof(leaf, fc.array(leaf, { maxLength: 5 }), fc.array(fc.array(leaf, { minLength: 2, maxLength: 4 }), { maxLength: 3 }), fc.array(fc.array(leaf, { minLength: 4, maxLength: 4 }), { maxLength: 3 }));
const tfNamed = fc.dictionary(fc.constantFrom('x', 'ids', 's', 'b', 'z', 'b64'), tfValue, { maxKeys: 5 });

const predictBody = fc.oneof(
  fc.record({ instances: fc.oneof(fc.array(tfValue, { maxLength: 4 }), fc.array(tfNamed, { maxLength: 3 }), tfValue), signature_name: fc.constantFrom('serving_default', 'other', 7) }, { requiredKeys: ['instances'] }),
  fc.record({ inputs: fc.oneof(tfValue, tfNamed), signature_name: fc.constantFrom('serving_default', 'other') }, { requiredKeys: ['inputs'] }),
  fc.record({ instances: tfValue, inputs: tfValue }),
);

t.test('TF Serving: arbitrary bytes and arbitrary JSON', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), anySignature, anyOptions, (body, signature, options) => checkPredict(body, signature, options)), { numRuns: RUNS });
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), anySignature, anyOptions, (json, signature, options) => checkPredict(Buffer.from(JSON.stringify(json)), signature, options)), { numRuns: RUNS });
  t.pass('decoded or refused with a catalogued code');
});

t.test('TF Serving: structured predict bodies, mutated and damaged', async (t) => {
  fc.assert(
    fc.property(predictBody, fc.array(MUTATION, { maxLength: 2 }), fc.array(BYTE_EDIT, { maxLength: 1 }), anySignature, anyOptions, (body, mutations, edits, signature, options) =>
      checkPredict(damage(Buffer.from(JSON.stringify(mutate(body, mutations))), edits), signature, options),
    ),
    { numRuns: RUNS * 2 },
  );
  t.pass('decoded or refused with a catalogued code');
});

t.test('TF Serving: valid row and columnar bodies decode to the expected bytes', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }).chain((rows) => fc.array(fc.array(float, { minLength: 4, maxLength: 4 }), { minLength: rows, maxLength: rows })), fc.boolean(), (rows, columnar) => {
      const sent = JSON.parse(JSON.stringify(rows)) as number[][];
      const body = columnar ? { inputs: { x: sent } } : { instances: sent };
      const decoded = decodePredictBody(Buffer.from(JSON.stringify(body)), SIGNATURES.fp32);
      checkRoundTrip(decoded.tensors, SIGNATURES.fp32);
      const expected = Buffer.from(Float32Array.from(sent.flat()).buffer);
      return Buffer.from(decoded.tensors[0]!.data).equals(expected) && decoded.tensors[0]!.shape.join() === `${rows.length},4`;
    }),
    { numRuns: RUNS },
  );
  t.pass('expected bytes');
});

// --- gRPC ---

const grpcParameter: fc.Arbitrary<GrpcParameter> = fc.oneof(
  fc.record({ parameter_choice: fc.constant('bool_param'), bool_param: fc.boolean() }),
  fc.record({ parameter_choice: fc.constant('int64_param'), int64_param: fc.oneof(fc.integer(), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(String)) }),
  fc.record({ parameter_choice: fc.constant('string_param'), string_param: fc.string({ maxLength: 8 }) }),
  fc.record({ parameter_choice: fc.constant('double_param'), double_param: fc.double() }),
  fc.record({ parameter_choice: fc.constant('uint64_param'), uint64_param: fc.bigInt(0n, 2n ** 64n - 1n).map(String) }),
  fc.constant({}),
);
const parameters = (names: fc.Arbitrary<string>) => fc.dictionary(names, grpcParameter, { maxKeys: 3 });

/** Contents as @grpc/proto-loader gives them (repeated fields as arrays, 64-bit integers as strings). */
const contents: fc.Arbitrary<GrpcContents | null> = fc.oneof(
  fc.constant(null),
  fc.record(
    {
      bool_contents: fc.array(fc.boolean(), { maxLength: 8 }),
      int_contents: fc.array(fc.integer(), { maxLength: 8 }),
      int64_contents: fc.array(fc.oneof(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(String), fc.integer()), { maxLength: 8 }),
      uint_contents: fc.array(fc.nat(), { maxLength: 8 }),
      uint64_contents: fc.array(fc.bigInt(0n, 2n ** 64n - 1n).map(String), { maxLength: 8 }),
      fp32_contents: fc.array(fc.float(), { maxLength: 8 }),
      fp64_contents: fc.array(fc.double(), { maxLength: 8 }),
      bytes_contents: fc.array(fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)), { maxLength: 6 }),
    },
    { requiredKeys: [] },
  ),
);

const inputName = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('x', 'ids', 's', 'b') }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) });
const grpcInput = fc.record({
  name: inputName,
  datatype: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL') }, { weight: 1, arbitrary: fc.constantFrom('FP16', 'UINT64', 'INT8', 'fp32', '') }),
  shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom<number | string>('2', '4', '-1', '9223372036854775807', 'x', '', 2 ** 40)), { maxLength: 3 }),
  parameters: parameters(fc.constantFrom('binary_data_size', 'binary_data', 'other')),
  contents,
});

const grpcMessage: fc.Arbitrary<GrpcInferRequest> = fc.record({
  model_name: fc.string({ maxLength: 4 }),
  model_version: fc.constantFrom('', '1'),
  id: fc.string({ maxLength: 4 }),
  parameters: parameters(fc.constantFrom('binary_data_output', 'other')),
  inputs: fc.array(grpcInput, { maxLength: 5 }),
  outputs: fc.array(fc.record({ name: fc.constantFrom('y', 'z', ''), parameters: parameters(fc.constantFrom('binary_data')) }), { maxLength: 2 }),
  raw_input_contents: fc.array(fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), { maxLength: 5 }),
});

/** Messages whose raw_input_contents, when present, has one entry per input and no typed contents: they get past the gRPC-only checks. */
const consistentMessage: fc.Arbitrary<GrpcInferRequest> = fc.tuple(grpcMessage, fc.boolean()).chain(([message, raw]) =>
  raw
    ? fc
        .array(fc.integer({ min: 0, max: 5 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 8 })), { minLength: message.inputs.length, maxLength: message.inputs.length })
        .map((blobs): GrpcInferRequest => ({ ...message, inputs: message.inputs.map((i) => ({ ...i, contents: null })), raw_input_contents: blobs.map((b) => Buffer.from(b)) }))
    : fc.constant<GrpcInferRequest>({ ...message, raw_input_contents: [] }),
);

function checkGrpc(message: GrpcInferRequest, signature: (typeof SIGNATURE_LIST)[number], options: DecodeOptions): void {
  const outcome = outcomeOf(() => decodeGrpcInferRequest(message, signature, options));
  if ('tensors' in outcome) checkRoundTrip(outcome.tensors, signature);
}

t.test('gRPC: arbitrary messages of the right outer shape', async (t) => {
  fc.assert(fc.property(grpcMessage, anySignature, anyOptions, checkGrpc), { numRuns: RUNS });
  fc.assert(fc.property(consistentMessage, anySignature, anyOptions, checkGrpc), { numRuns: RUNS });
  t.pass('decoded or refused with a catalogued code');
});

t.test('gRPC: valid typed messages decode to the expected bytes', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(fc.float(), { minLength: rows * 4, maxLength: rows * 4 }), fc.array(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), { minLength: rows * 2, maxLength: rows * 2 }), fc.array(fc.boolean(), { maxLength: 6 }), fc.array(fc.uint8Array({ maxLength: 5 }), { maxLength: 4 }))), ([rows, floats, ids, bools, strings]) => {
      const message: GrpcInferRequest = {
        model_name: 'mixed',
        model_version: '',
        id: '',
        parameters: {},
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [String(rows), '4'], parameters: {}, contents: { fp32_contents: floats } },
          { name: 'ids', datatype: 'INT64', shape: [String(rows), '2'], parameters: {}, contents: { int64_contents: ids.map(String) } },
          { name: 's', datatype: 'BYTES', shape: [String(strings.length)], parameters: {}, contents: { bytes_contents: strings.map((s) => Buffer.from(s)) } },
          { name: 'b', datatype: 'BOOL', shape: [String(bools.length)], parameters: {}, contents: { bool_contents: bools } },
        ],
        outputs: [],
        raw_input_contents: [],
      };
      const outcome = outcomeOf(() => decodeGrpcInferRequest(message, SIGNATURES.mixed, {}));
      // NaN and ±Infinity are valid FP32 values a gRPC client can send; they may still be refused (catalogued) by the value policy.
      if ('code' in outcome) return floats.some((f) => !Number.isFinite(f));
      checkRoundTrip(outcome.tensors, SIGNATURES.mixed);
      const x = Buffer.from(outcome.tensors[0]!.data);
      return x.equals(Buffer.from(Float32Array.from(floats).buffer)) && Buffer.from(outcome.tensors[1]!.data).equals(Buffer.from(BigInt64Array.from(ids).buffer));
    }),
    { numRuns: RUNS },
  );
  t.pass('expected bytes');
});

// keep HOSTILE_VALUE referenced for mutated messages: a few parameter values that no loader gives are refused, not thrown
t.test('gRPC: hostile parameter values', async (t) => {
  fc.assert(
    fc.property(grpcMessage, HOSTILE_VALUE, (message, value) => {
      const hostile = { ...message, parameters: { binary_data_output: { parameter_choice: 'string_param', string_param: value } as GrpcParameter } };
      checkGrpc({ ...hostile, inputs: hostile.inputs.map((i) => ({ ...i, parameters: { binary_data_size: { parameter_choice: 'int64_param', int64_param: value } as GrpcParameter } })) }, SIGNATURES.mixed, {});
    }),
    { numRuns: RUNS },
  );
  t.pass('decoded or refused with a catalogued code');
});
