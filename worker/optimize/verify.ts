// Does the new model answer as the source does? Both run, in this process on
// onnxruntime-node (one intra-op thread each, so each side is deterministic),
// on the same seeded random samples built from the source's signature
// (warmup.ts: every dynamic dim at a few sizes, batch 1 to 32), and every
// output element is compared as a client would see it (tensor-convert.ts
// answerValues, compare-outputs.ts):
//
//   source ─┐                                   ┌─ max |new − source| per output (also as a fraction of
//           ├─ signature ─▶ samples ─▶ run both ┤    the largest |source element|: the output's range)
//   new ────┘   (must match)                    └─ the first element beyond the tolerance: the failure
//
// The tolerance is absolute or a fraction of the output's range on each
// sample (optimize-mode.ts Tolerance); either way it becomes one absolute
// bound per output and sample, which compare-outputs.ts checks.

import * as ort from 'onnxruntime-node';
import { compareOutputs } from '../../common/onnx/compare-outputs.ts';
import { ortMessage } from '../../common/onnx/load-failure.ts';
import type { ModelSignature, TensorSpec, Tensor } from '../../common/wire.ts';
import { feedsFor, loadedVersion, type LoadedVersion } from '../loaded-version.ts';
import { signatureFromMetadata } from '../signature.ts';
import { answerValues, fromOrtTensor } from '../tensor-convert.ts';
import { randomSamples } from '../warmup.ts';
import { allowedAbsError, type Tolerance } from './optimize-mode.ts';

/** The size every dynamic dim takes, one sample each: batch 1 (the common request) up to a full batch of 32. */
export const VERIFY_DYNAMIC_SIZES: readonly number[] = [1, 2, 8, 32];

export type Verification = {
  samples: string[];
  /** Per output, over every sample; null for an output with no numeric element (BYTES). */
  maxAbsError: Record<string, number | null>;
  /** Per output, over every sample: |new − source| / the sample's largest |source element| of that output; null as above. */
  maxErrorOfOutputRange: Record<string, number | null>;
  /** One line: why the new model does not pass; null when it does. */
  failure: string | null;
};

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, logSeverityLevel: 4 };

/** Compares the new model with the source; throws only for a fault of this process, never of either model. */
export async function verifyOutputs(model: string, source: Uint8Array, made: Uint8Array, tolerance: Tolerance): Promise<Verification> {
  const verification: Verification = { samples: [], maxAbsError: {}, maxErrorOfOutputRange: {}, failure: null };
  const fail = (reason: string): Verification => ({ ...verification, failure: reason });
  const opened = await openPair(model, source, made, SESSION_OPTIONS);
  if ('failure' in opened) return fail(opened.failure);
  const [was, now] = opened.pair;
  try {
    const changed = signatureChange(was.signature, now.signature);
    if (changed !== null) return fail(`the new model's signature differs from the source's: ${changed}`);

    for (const sample of randomSamples(was.signature, VERIFY_DYNAMIC_SIZES)) {
      verification.samples.push(sample.label);
      let expected: Tensor[];
      let actual: Tensor[];
      try {
        expected = await runAll(was, sample.tensors);
        actual = await runAll(now, sample.tensors);
      } catch (err) {
        return fail(`${sample.label} failed to run: ${ortMessage(err)}`);
      }
      const expectedValues = expected.map(answerValues);
      const actualValues = actual.map(answerValues);
      for (const want of expectedValues) {
        const largest = largestAbs(want.data);
        const comparison = compareOutputs(actualValues, [want], allowedAbsError(tolerance, largest));
        const output = comparison.outputs[0];
        if (output) {
          const error = output.maxAbsError;
          const ofRange = error === null ? null : error === 0 ? 0 : error / largest;
          verification.maxAbsError[output.name] = maxOf(verification.maxAbsError[output.name], error);
          verification.maxErrorOfOutputRange[output.name] = maxOf(verification.maxErrorOfOutputRange[output.name], ofRange);
        }
        if (comparison.failure !== null) return fail(`${sample.label}: ${comparison.failure}`);
      }
    }
    return verification;
  } finally {
    await releasePair(opened.pair);
  }
}

/** Sessions of the source and the new model, each with its signature; a one-line failure when either cannot load. */
export async function openPair(
  model: string,
  source: Uint8Array,
  made: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<{ pair: [LoadedVersion, LoadedVersion] } | { failure: string }> {
  const opened: LoadedVersion[] = [];
  for (const [label, bytes] of [['source', source], ['new', made]] as const) {
    try {
      const session = await ort.InferenceSession.create(bytes, options);
      opened.push(loadedVersion(signatureFromMetadata(model, label, session.inputMetadata, session.outputMetadata, ''), session));
    } catch (err) {
      await releasePair(opened);
      return { failure: `the ${label} model cannot be loaded: ${ortMessage(err)}` };
    }
  }
  return { pair: opened as [LoadedVersion, LoadedVersion] };
}

export async function releasePair(pair: readonly LoadedVersion[]): Promise<void> {
  for (const loaded of pair) await loaded.session.release().catch(() => {});
}

/** The larger of a running maximum and a new value; null only while both are (an output with no numeric element). */
function maxOf(before: number | null | undefined, value: number | null): number | null {
  return value === null ? (before ?? null) : Math.max(before ?? 0, value);
}

/** The largest |element| among the finite numbers of an output's client values (NaN and ±Infinity come as strings). */
function largestAbs(data: readonly unknown[]): number {
  let largest = 0;
  for (const value of data) if (typeof value === 'number' && Number.isFinite(value)) largest = Math.max(largest, Math.abs(value));
  return largest;
}

export async function runAll(loaded: LoadedVersion, tensors: readonly Tensor[]): Promise<Tensor[]> {
  const names = loaded.signature.outputs.map((spec) => spec.name);
  const results = await loaded.session.run(feedsFor(loaded, tensors), names);
  return names.map((name) => fromOrtTensor(name, results[name] as ort.Tensor));
}

/** The first input or output that differs in name, datatype or shape; null when the signatures agree. */
function signatureChange(was: ModelSignature, now: ModelSignature): string | null {
  const text = (specs: readonly TensorSpec[]) => specs.map((s) => `${s.name} ${s.datatype} [${s.shape.join(',')}]`).join(', ');
  if (text(was.inputs) !== text(now.inputs)) return `inputs ${text(now.inputs)}, was ${text(was.inputs)}`;
  if (text(was.outputs) !== text(now.outputs)) return `outputs ${text(now.outputs)}, was ${text(was.outputs)}`;
  return null;
}
