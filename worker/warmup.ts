// Warm-up samples of one model version, as tensors ready to run:
//
//   config.yaml warmup:                          → samples the version must pass
//     - name: sixteen-tokens                        (a failure: UNAVAILABLE)
//       count: 2
//       inputs: { tokens: { shape: [1, 16, 8], fill: random } }
//     - request: warmup/request.json              (KServe v2 JSON, relative to models/<name>/)
//   no warmup section                            → one synthetic sample: every dynamic dim 1,
//                                                  zeros (a failure only warns: real requests
//                                                  may need more, e.g. a minimum sequence length)
//
// onnxruntime allocates and plans on a session's first run; warming up moves
// that cost (and any failure of the model to run at all) before the first
// real request. Values go through the same conversion as a client's JSON
// (common/kserve/json-tensor.ts), so a fill the datatype cannot hold is
// refused the same way.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datatypeByKServe, elementCount, type KServeDatatype } from '../common/datatypes.ts';
import { decodeInferRequest } from '../common/kserve/decode-request.ts';
import { jsonElementsToBytes } from '../common/kserve/json-tensor.ts';
import { mulberry32 } from '../common/prng.ts';
import type { ModelSignature, Tensor, TensorSpec } from '../common/wire.ts';
import type { WarmupSample } from '../config/model-schema.ts';

export type WarmupRun = {
  /** For messages: `sample "name"` or `sample 2 of 3`. */
  label: string;
  count: number;
  tensors: Tensor[];
  /** Outputs to fetch; undefined: all. */
  outputs: string[] | undefined;
};

/** The synthetic sample: every dynamic dim 1, all zeros (empty strings for BYTES). */
export function syntheticWarmup(signature: ModelSignature): WarmupRun {
  const tensors = signature.inputs.map((spec): Tensor => {
    const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
    const count = elementCount(shape);
    const info = datatypeByKServe(spec.datatype)!;
    // BYTES: each element is a zero u32 length, i.e. an empty string.
    const byteLength = info.bytesPerElement === 0 ? 4 * count : info.bytesPerElement * count;
    return { name: spec.name, datatype: spec.datatype, shape, data: new Uint8Array(byteLength) };
  });
  return { label: 'synthetic sample (dynamic dims 1, zeros)', count: 1, tensors, outputs: undefined };
}

/**
 * Seeded random samples from the signature alone, one per entry of `dynamicSizes` (every dynamic dim of that
 * sample takes that size): what check-model runs without --sample and what optimize compares two versions on.
 * Values as a configured `fill: random` sample gives them, so the same list gives the same tensors every time.
 */
export function randomSamples(signature: ModelSignature, dynamicSizes: readonly number[]): WarmupRun[] {
  return dynamicSizes.map((size, i) => {
    const inputs = Object.fromEntries(signature.inputs.map((spec) => [spec.name, { shape: spec.shape.map((d) => (d === -1 ? size : d)), fill: 'random' as const }]));
    return fromInputs(`random sample ${i + 1} of ${dynamicSizes.length} (dynamic dims ${size})`, { count: 1, inputs }, signature, i);
  });
}

/** The configured samples as runs; throws Error (a configuration fault of this version) with the sample named. */
export async function configuredWarmup(samples: readonly WarmupSample[], signature: ModelSignature, modelDir: string): Promise<WarmupRun[]> {
  const runs: WarmupRun[] = [];
  for (const [i, sample] of samples.entries()) {
    const label = sample.name === undefined ? `sample ${i + 1} of ${samples.length}` : `sample "${sample.name}"`;
    try {
      runs.push(sample.request !== undefined ? await fromRequestFile(label, sample.count, join(modelDir, sample.request), signature) : fromInputs(label, sample, signature, i));
    } catch (err) {
      throw new Error(`warm-up ${label}: ${(err as Error).message}`, { cause: err });
    }
  }
  return runs;
}

async function fromRequestFile(label: string, count: number, file: string, signature: ModelSignature): Promise<WarmupRun> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const request = decodeInferRequest(body, signature);
  return { label, count, tensors: request.tensors, outputs: request.outputs };
}

function fromInputs(label: string, sample: WarmupSample, signature: ModelSignature, seed: number): WarmupRun {
  const given = sample.inputs ?? {};
  for (const name of Object.keys(given)) {
    if (!signature.inputs.some((spec) => spec.name === name)) throw new Error(`names input "${name}", which the model does not have`);
  }
  // One seed per sample: the same sample warms up with the same values every time.
  const random = mulberry32(0x5eed + seed);
  const tensors = signature.inputs.map((spec): Tensor => {
    const input = given[spec.name];
    if (!input) throw new Error(`gives no shape for input "${spec.name}" (${spec.datatype} [${spec.shape.join(',')}])`);
    checkShape(spec, input.shape);
    const values = fillValues(spec.datatype, elementCount(input.shape), input.fill, random);
    return { name: spec.name, datatype: spec.datatype, shape: [...input.shape], data: jsonElementsToBytes(spec.name, spec.datatype, values) };
  });
  return { label, count: sample.count, tensors, outputs: undefined };
}

function checkShape(spec: TensorSpec, shape: readonly number[]): void {
  const fits = shape.length === spec.shape.length && spec.shape.every((dim, i) => dim === -1 || dim === shape[i]);
  if (!fits) throw new Error(`input "${spec.name}" has shape [${shape.join(',')}] but the model takes [${spec.shape.join(',')}]`);
}

/** Values in the form a client would send them as JSON, so that common/kserve/json-tensor.ts checks them. */
function fillValues(datatype: KServeDatatype, count: number, fill: 'zeros' | 'random' | number, random: () => number): unknown[] {
  const values = new Array<unknown>(count);
  for (let i = 0; i < count; i++) values[i] = fillValue(datatype, fill, random);
  return values;
}

function fillValue(datatype: KServeDatatype, fill: 'zeros' | 'random' | number, random: () => number): unknown {
  switch (datatype) {
    case 'BOOL':
      return fill === 'random' ? random() < 0.5 : fill !== 'zeros' && fill !== 0;
    case 'BYTES':
      if (fill === 'zeros') return '';
      return fill === 'random' ? Math.floor(random() * 2 ** 32).toString(36) : String(fill);
    case 'FP16':
    case 'FP32':
    case 'FP64':
      return fill === 'zeros' ? 0 : fill === 'random' ? random() : fill;
    default:
      // Integers: small non-negative values, valid for every integer type (and for most ids and indexes).
      return fill === 'zeros' ? 0 : fill === 'random' ? Math.floor(random() * 100) : fill;
  }
}
