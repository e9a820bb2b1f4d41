// Shared pieces of the property-based fuzz tests: the signatures fuzzed, the
// "decodes or throws a catalogued error, nothing else" oracle, the round-trip
// check (a decoded tensor re-sent through the binary extension decodes to the
// same bytes) and a generic JSON-tree mutator for near-valid requests.

import fc from 'fast-check';
import { InfergateError, isErrorCode } from '../../common/errors.ts';
import { decodeInferRequest } from '../../common/kserve/decode-request.ts';
import type { ModelSignature, Tensor, TensorSpec } from '../../common/wire.ts';

/** Runs per property: modest, so that the directory runs in seconds on a loaded machine. */
export const RUNS = 1000;

const signature = (name: string, inputs: TensorSpec[]): ModelSignature => ({
  name,
  version: '1',
  inputs,
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
  fingerprint: '0'.repeat(64),
});

export const SIGNATURES = {
  fp32: signature('fp32', [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]),
  int64: signature('int64', [{ name: 'ids', datatype: 'INT64', shape: [-1, 2] }]),
  bytes: signature('bytes', [{ name: 's', datatype: 'BYTES', shape: [-1] }]),
  bool: signature('bool', [{ name: 'b', datatype: 'BOOL', shape: [-1] }]),
  mixed: signature('mixed', [
    { name: 'x', datatype: 'FP32', shape: [-1, 4] },
    { name: 'ids', datatype: 'INT64', shape: [-1, 2] },
    { name: 's', datatype: 'BYTES', shape: [-1] },
    { name: 'b', datatype: 'BOOL', shape: [-1] },
  ]),
} as const;

export const SIGNATURE_LIST: readonly ModelSignature[] = Object.values(SIGNATURES);

export type Outcome = { tensors: Tensor[] } | { code: string };

/** The oracle: a result, or an InfergateError with a catalogued code; anything else is rethrown (the property fails). */
export function outcomeOf(run: () => { tensors: Tensor[] }): Outcome {
  try {
    return { tensors: run().tensors };
  } catch (err) {
    return catalogued(err);
  }
}

export async function asyncOutcomeOf(run: () => Promise<{ tensors: Tensor[] }>): Promise<Outcome> {
  try {
    return { tensors: (await run()).tensors };
  } catch (err) {
    return catalogued(err);
  }
}

function catalogued(err: unknown): { code: string } {
  if (err instanceof InfergateError && isErrorCode(err.code)) return { code: err.code };
  throw err;
}

/** Decoded tensors re-sent as a binary-extension request decode to the same tensors, byte for byte. */
export function checkRoundTrip(tensors: readonly Tensor[], signature: ModelSignature): void {
  if (tensors.length !== signature.inputs.length) throw new Error(`${tensors.length} tensors for ${signature.inputs.length} inputs`);
  tensors.forEach((tensor, i) => {
    const spec = signature.inputs[i]!;
    if (tensor.name !== spec.name || tensor.datatype !== spec.datatype) throw new Error(`tensor ${i} is ${tensor.name}/${tensor.datatype}, not ${spec.name}/${spec.datatype}`);
  });
  const head = Buffer.from(
    JSON.stringify({ inputs: tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.byteLength } })) }),
  );
  const body = Buffer.concat([head, ...tensors.map((t) => t.data)]);
  const again = decodeInferRequest(body, signature, { binaryHeaderLength: String(head.byteLength) }).tensors;
  again.forEach((tensor, i) => {
    const before = tensors[i]!;
    if (JSON.stringify(tensor.shape) !== JSON.stringify(before.shape)) throw new Error(`round trip changed the shape of ${before.name}`);
    if (!Buffer.from(tensor.data).equals(Buffer.from(before.data))) throw new Error(`round trip changed the bytes of ${before.name}`);
  });
}

/** Special values a mutation puts in place of any node of a request. */
export const HOSTILE_VALUE: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0.5, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, -1e308, '', '0', 'NaN', 'Infinity', '9223372036854775808', 'FP32', 'BYTES', 'BOOL', 'INT64', 'FP16', 'UINT64', [], {}, [[]], [null], { b64: '!!' }, { binary_data_size: 4 }, '__proto__'),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer(),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function slots(value: unknown, into: Slot[]): Slot[] {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      into.push({ parent: value, key: i });
      slots(item, into);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      into.push({ parent: value as Record<string, unknown>, key });
      slots(item, into);
    }
  }
  return into;
}

export type Mutation = { at: number; op: 'delete' | 'replace' | 'wrap' | 'unwrap'; value: unknown };

export const MUTATION: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'replace', 'wrap', 'unwrap'),
  value: HOSTILE_VALUE,
});

/** Applies mutations to a deep copy of a JSON tree: delete a field or element, replace it, wrap it in an array, or take its first item. */
export function mutate(root: unknown, mutations: readonly Mutation[]): unknown {
  const copy = structuredClone(root);
  for (const { at, op, value } of mutations) {
    const all = slots(copy, []);
    if (all.length === 0) break;
    const { parent, key } = all[at % all.length]!;
    if (op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else {
      const old = (parent as Record<string | number, unknown>)[key];
      const next = op === 'replace' ? value : op === 'wrap' ? [old] : Array.isArray(old) ? old[0] : value;
      (parent as Record<string | number, unknown>)[key] = next;
    }
  }
  return copy;
}

/** Byte-level damage to a body: flips, truncation, insertions. */
export type ByteEdit = { at: number; kind: 'flip' | 'truncate' | 'insert' | 'delete'; byte: number };

export const BYTE_EDIT: fc.Arbitrary<ByteEdit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'flip', 'truncate', 'insert', 'delete'),
  byte: fc.integer({ min: 0, max: 255 }),
});

export function damage(body: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let bytes = Buffer.from(body);
  for (const { at, kind, byte } of edits) {
    if (bytes.length === 0) break;
    const i = at % bytes.length;
    if (kind === 'flip') bytes[i] = bytes[i]! ^ (byte === 0 ? 1 : byte);
    else if (kind === 'truncate') bytes = bytes.subarray(0, i);
    else if (kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
    else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
  }
  return bytes;
}

// --- valid requests for the fuzzed signatures, with their independently encoded bytes ---

export type ValidInput = { json: Record<string, unknown>; expected: Uint8Array };

const floatValue = fc.oneof(
  { weight: 8, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom<number | string>('NaN', 'Infinity', '-Infinity') },
);

function nest<T>(flat: readonly T[], width: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < flat.length; i += width) rows.push(flat.slice(i, i + width));
  return rows;
}

const bytesOf = (view: ArrayBufferView): Uint8Array => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

export const VALID_INPUT: Record<string, fc.Arbitrary<ValidInput>> = {
  x: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.boolean()).chain(([rows, nested]) =>
    fc.array(floatValue, { minLength: rows * 4, maxLength: rows * 4 }).map((values) => {
      // JSON has no -0: what the decoder sees is what JSON.parse reads back.
      const sent = JSON.parse(JSON.stringify(values)) as Array<number | string>;
      return {
        json: { name: 'x', datatype: 'FP32', shape: [rows, 4], data: nested ? nest(sent, 4) : sent },
        expected: bytesOf(Float32Array.from(sent, (v) => Number(v))),
      };
    }),
  ),
  ids: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.boolean()).chain(([rows, nested]) =>
    fc.array(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), { minLength: rows * 2, maxLength: rows * 2 }).chain((values) =>
      fc.array(fc.boolean(), { minLength: values.length, maxLength: values.length }).map((asString) => {
        const sent = values.map((v, i) => (asString[i] || v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? String(v) : Number(v)));
        return { json: { name: 'ids', datatype: 'INT64', shape: [rows, 2], data: nested ? nest(sent, 2) : sent }, expected: bytesOf(BigInt64Array.from(values)) };
      }),
    ),
  ),
  s: fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 5 }).map((values) => {
    const parts = values.map((v) => Buffer.from(v, 'utf8'));
    const expected = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      expected.writeUInt32LE(p.length, offset);
      p.copy(expected, offset + 4);
      offset += 4 + p.length;
    }
    return { json: { name: 's', datatype: 'BYTES', shape: [values.length], data: values }, expected };
  }),
  b: fc.array(fc.boolean(), { maxLength: 8 }).map((values) => ({
    json: { name: 'b', datatype: 'BOOL', shape: [values.length], data: values },
    expected: Uint8Array.from(values, (v) => (v ? 1 : 0)),
  })),
};

/** A valid request for a signature (inputs in a shuffled order, sometimes with outputs and an id), and each input's bytes in signature order. */
export function validRequest(signature: ModelSignature): fc.Arbitrary<{ request: Record<string, unknown>; expected: Uint8Array[] }> {
  const inputs = signature.inputs.map((spec) => VALID_INPUT[spec.name]!);
  return fc.tuple(fc.tuple(...inputs), fc.boolean(), fc.option(fc.string({ maxLength: 6 }), { nil: undefined })).map(([values, reverse, id]) => {
    const sent = values.map((v) => v.json);
    if (reverse) sent.reverse();
    const request: Record<string, unknown> = { inputs: sent };
    if (id !== undefined) request.id = id;
    if (reverse) request.outputs = [{ name: 'y' }];
    return { request, expected: values.map((v) => v.expected) };
  });
}
