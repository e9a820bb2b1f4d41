// Request body generators. A body source makes infer request bodies for one
// model signature, with `rows` rows per request (the batch axis), in one of
// these formats:
//
//   json           KServe v2 JSON
//   binary         the worker's binary frame (common/wire.ts)
//   kserve-binary  KServe v2's binary tensor extension: a JSON header with
//                  each input's binary_data_size, then the raw tensor bytes
//                  (Inference-Header-Content-Length says where the JSON
//                  ends); the outputs asked back binary too
//   grpc-raw       a KServe v2 gRPC ModelInferRequest with raw_input_contents,
//                  encoded (grpc-messages.ts); its answer comes back raw
//
// and either:
//
//   unique   every request differs (no cache can answer it): a template
//            whose first float is replaced by a counter, k / 2^24, exact in
//            FP32 and distinct for 16.7 M requests; cheap enough that the
//            generator does not become the bottleneck;
//   pool:N   a fixed pool of N distinct bodies sent round-robin, so a
//            result cache in front can hit at most 1 - N/requests of them;
//   hitRatio a share of requests from a small pool of "hot" bodies, the
//            rest unique: once the hot ones are cached (`hot`, sent once
//            before measuring), the cache's hit ratio is that share.
//
// Values come from a seeded PRNG (mulberry32), so runs are reproducible.

import { encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader, type Tensor, type TensorSpec } from '../../common/wire.ts';
import { mulberry32 } from '../../scripts/demo-models/prng.ts';
import { encodeInferRequest } from './grpc-messages.ts';
import type { BodyDescription } from './results.ts';

export type BodyFormat = 'json' | 'binary' | 'kserve-binary' | 'grpc-raw';
export type InputsMode = 'unique' | number;
export type Body = string | Buffer;

export type BodySourceOptions = {
  format: BodyFormat;
  model: string;
  /** Needed by binary frames; JSON requests go to the highest version by path. */
  version: string;
  inputs: readonly TensorSpec[];
  rows: number;
  mode: InputsMode;
  seed: number;
  /** With mode 'unique': this share of requests repeats one of HOT_BODIES bodies instead (1 = only those). */
  hitRatio?: number;
};

export type BodySource = {
  contentType: string;
  /** Request headers every body goes with: content-type, and the binary extension's Inference-Header-Content-Length (HTTP formats). */
  headers: Record<string, string>;
  description: BodyDescription;
  /** The next body to send. */
  next(): Body;
  /** The whole pool when bodies repeat (lets autocannon prebuild requests); null for unique. */
  pool: readonly Body[] | null;
  /** Bodies that repeat (hitRatio mode): send each once before measuring, so they are cached. */
  hot?: readonly Body[];
};

/** Distinct repeated bodies in hitRatio mode: few enough to be cached by the warm-up, enough to spread over replicas. */
export const HOT_BODIES = 64;

/** Stand-in signature for systems with no model (hello): a classifier-shaped input. */
export const CLASSIFIER_LIKE_INPUTS: readonly TensorSpec[] = [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }];

const UNIQUE_SCALE = 2 ** 24;

const CONTENT_TYPES: Record<BodyFormat, string> = {
  json: 'application/json',
  binary: FRAME_CONTENT_TYPE,
  'kserve-binary': 'application/octet-stream',
  'grpc-raw': 'application/grpc',
};

export function parseInputsMode(text: string): InputsMode {
  if (text === 'unique') return 'unique';
  const match = /^pool:(\d+)$/.exec(text);
  const size = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(size) || size < 1) throw new Error(`--inputs must be "unique" or "pool:N" with N ≥ 1, not "${text}"`);
  return size;
}

export function createBodySource(options: BodySourceOptions): BodySource {
  const random = mulberry32(options.seed);
  const make = (): TypedTensor[] => options.inputs.map((spec) => randomTensor(spec, options.rows, random));
  const contentType = CONTENT_TYPES[options.format];
  const headers: Record<string, string> = { 'content-type': contentType };
  if (options.format === 'kserve-binary') {
    // Every body of a source has the same JSON header (the values travel in the binary section): one length fits all.
    const zeros = options.inputs.map((spec) => randomTensor(spec, options.rows, () => 0));
    headers['inference-header-content-length'] = String(kserveHeader(zeros).byteLength);
  }
  const base = { contentType, headers };
  const describe = (sample: Body): BodyDescription => ({
    format: options.format,
    rows: options.rows,
    inputs: options.mode,
    bytesPerRequest: Buffer.byteLength(sample),
  });

  if (options.mode !== 'unique') {
    const pool = Array.from({ length: options.mode }, () => encode(options, make()));
    let i = 0;
    return { ...base, description: describe(pool[0]!), pool, next: () => pool[i++ % pool.length]! };
  }

  const unique = uniqueSource(options, make, base, describe);
  const hitRatio = options.hitRatio ?? 0;
  if (hitRatio <= 0) return unique;
  const hot = Array.from({ length: HOT_BODIES }, () => encode(options, make()));
  const description = { ...unique.description, hitRatio };
  let h = 0;
  if (hitRatio >= 1) return { ...base, description, pool: hot, hot, next: () => hot[h++ % hot.length]! };
  // A separate stream, so the hot/unique choice does not shift the bodies' values.
  const choose = mulberry32(options.seed + 1);
  return { ...base, description, pool: null, hot, next: () => (choose() < hitRatio ? hot[h++ % hot.length]! : unique.next()) };
}

function uniqueSource(options: BodySourceOptions, make: () => TypedTensor[], base: Pick<BodySource, 'contentType' | 'headers'>, describe: (sample: Body) => BodyDescription): BodySource {
  const tensors = make();
  const slot = tensors.findIndex((t) => t.values instanceof Float32Array || t.values instanceof Float64Array);
  if (slot === -1) throw new Error(`unique inputs need a float input tensor; ${options.model} has none (use --inputs pool:N)`);
  let counter = 0;
  const nextValue = (): number => (counter++ % UNIQUE_SCALE) / UNIQUE_SCALE;

  if (options.format === 'json') {
    const marker = '"@@unique@@"';
    const text = encodeJson(tensors, { tensor: slot, marker });
    const [prefix, suffix] = text.split(marker) as [string, string];
    return { ...base, description: describe(text), pool: null, next: () => prefix + nextValue() + suffix };
  }
  const template = encode(options, tensors) as Buffer;
  // Every binary format ends with the tensors' raw bytes in input order (gRPC's with a field tag and length before
  // each), so the slot tensor's bytes are found by their last occurrence; random floats make a false match implausible.
  const offset = template.lastIndexOf(bytesOf(tensors[slot]!));
  if (offset === -1) throw new Error(`body generator: the ${options.format} encoding does not hold input ${tensors[slot]!.spec.name}'s raw bytes`);
  const write = tensors[slot]!.values instanceof Float32Array ? 'writeFloatLE' : 'writeDoubleLE';
  return {
    ...base,
    description: describe(template),
    pool: null,
    next: () => {
      const body = Buffer.from(template);
      body[write](nextValue(), offset);
      return body;
    },
  };
}

type TypedTensor = { spec: TensorSpec; shape: number[]; values: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array };

function randomTensor(spec: TensorSpec, rows: number, random: () => number): TypedTensor {
  // The first dynamic dim is the batch axis; any other dynamic dim gets 1.
  const shape = spec.shape.map((d, i) => (d === -1 ? (i === 0 ? rows : 1) : d));
  const count = shape.reduce((a, b) => a * b, 1);
  const floats = (): number => Math.fround(random() * 2 - 1);
  // Small non-negative integers: valid ids for embedding tables (the demo ranker allows < 1000).
  const ints = (): number => Math.floor(random() * 100);
  switch (spec.datatype) {
    case 'FP32':
      return { spec, shape, values: Float32Array.from({ length: count }, floats) };
    case 'FP64':
      return { spec, shape, values: Float64Array.from({ length: count }, floats) };
    case 'INT32':
      return { spec, shape, values: Int32Array.from({ length: count }, ints) };
    case 'INT64':
      return { spec, shape, values: BigInt64Array.from({ length: count }, () => BigInt(ints())) };
    case 'BOOL':
    case 'UINT8':
      return { spec, shape, values: Uint8Array.from({ length: count }, () => (spec.datatype === 'BOOL' ? Math.round(random()) : ints())) };
    default:
      throw new Error(`body generator: datatype ${spec.datatype} of input ${spec.name} is not supported`);
  }
}

function encode(options: BodySourceOptions, tensors: TypedTensor[]): Body {
  switch (options.format) {
    case 'json':
      return encodeJson(tensors);
    case 'binary':
      return encodeBinary(options, tensors);
    case 'kserve-binary':
      return Buffer.concat([kserveHeader(tensors), ...tensors.map(bytesOf)]);
    case 'grpc-raw':
      return encodeInferRequest({ model_name: options.model, inputs: tensors.map((t) => ({ name: t.spec.name, datatype: t.spec.datatype, shape: t.shape })), raw_input_contents: tensors.map(bytesOf) });
  }
}

/** A tensor's values as raw little-endian bytes (a view, no copy). */
function bytesOf(t: TypedTensor): Uint8Array {
  return new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
}

/** The binary extension's JSON header: each input's size in the binary section, and every output asked back binary. */
function kserveHeader(tensors: TypedTensor[]): Buffer {
  const inputs = tensors.map((t) => ({ name: t.spec.name, datatype: t.spec.datatype, shape: t.shape, parameters: { binary_data_size: t.values.byteLength } }));
  return Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
}

function encodeJson(tensors: TypedTensor[], unique?: { tensor: number; marker: string }): string {
  const inputs = tensors.map((t, i) => {
    const data: (number | boolean | string)[] = t.values instanceof BigInt64Array ? Array.from(t.values, Number) : Array.from(t.values as ArrayLike<number>);
    if (t.spec.datatype === 'BOOL') data.forEach((v, j) => (data[j] = v === 1));
    if (unique?.tensor === i) data[0] = unique.marker.slice(1, -1);
    return { name: t.spec.name, datatype: t.spec.datatype, shape: t.shape, data };
  });
  return JSON.stringify({ inputs });
}

function encodeBinary(options: BodySourceOptions, tensors: TypedTensor[]): Buffer {
  const frameTensors: Tensor[] = tensors.map((t) => ({
    name: t.spec.name,
    datatype: t.spec.datatype,
    shape: t.shape,
    data: bytesOf(t),
  }));
  return encodeFrame<InferRequestHeader>({ model: options.model, version: options.version }, frameTensors);
}

/** mulberry32 (seeded PRNG), shared with the demo model generator. */
export { mulberry32 };
