// The thresholds of a rollout's agreement gate (the plan's gates.agreement,
// gateway/rollout/rollout-plan.ts) that an optimization report sets: live,
// the new version must answer about as close to the stable one as it answered
// to the source on the report's samples. Pure.
//
//   maxAbsDiff          twice the largest |new − source| of any output (live
//                       inputs reach past the samples), rounded up to three
//                       digits; never below 1e-5, graph mode's bound, which
//                       also covers the last-bit jitter of a worker's threads
//   minArgmaxAgreement  the report's top-1 agreement less one point, rounded
//                       down to 0.001 (classifier-like outputs only)
//   minComparisons      enough compared answers that a candidate as good as
//                       on the samples reads above minArgmaxAgreement by three
//                       standard errors: n ≥ 9·p·(1 − p) / 0.01², from 20 (the
//                       plan's default) to 10,000

import type { OutputAccuracy } from '../../common/onnx/output-accuracy.ts';

export type AgreementThresholds = { maxAbsDiff: number; minArgmaxAgreement: number; minComparisons: number };

export const MIN_MAX_ABS_DIFF = 1e-5;
const ARGMAX_MARGIN = 0.01;
const STANDARD_ERRORS = 3;
const MIN_COMPARISONS = 20;
const MAX_COMPARISONS = 10_000;
/** The plan's default: with no classifier-like output the gate reads no top-1 rows, and this never applies. */
const NO_CLASSIFIER_MIN_AGREEMENT = 0.99;

/** The gate's thresholds; a one-line reason instead when the report measured something no gate can hold. */
export function agreementThresholds(accuracy: readonly OutputAccuracy[]): AgreementThresholds | { reason: string } {
  const broken = accuracy.find((output) => output.mismatches > 0 || (output.maxAbsError !== null && !Number.isFinite(output.maxAbsError)));
  if (broken !== undefined) return { reason: `output ${JSON.stringify(broken.name)} differs beyond any bound (a non-finite error or a changed element): no agreement gate holds it` };
  const largest = Math.max(0, ...accuracy.map((output) => output.maxAbsError ?? 0));
  const maxAbsDiff = Math.max(MIN_MAX_ABS_DIFF, ceilToDigits(2 * largest, 3));

  const rows = accuracy.reduce((sum, output) => sum + (output.top1?.rows ?? 0), 0);
  if (rows === 0) return { maxAbsDiff, minArgmaxAgreement: NO_CLASSIFIER_MIN_AGREEMENT, minComparisons: MIN_COMPARISONS };
  const share = accuracy.reduce((sum, output) => sum + (output.top1?.agreeing ?? 0), 0) / rows;
  const minArgmaxAgreement = Math.max(0, Math.floor((share - ARGMAX_MARGIN) * 1000 + 1e-9) / 1000);
  const needed = Math.ceil((STANDARD_ERRORS ** 2 * share * (1 - share)) / ARGMAX_MARGIN ** 2);
  return { maxAbsDiff, minArgmaxAgreement, minComparisons: Math.min(MAX_COMPARISONS, Math.max(MIN_COMPARISONS, needed)) };
}

/** The smallest number of `digits` significant digits at or above `value` (0.0123401 → 0.0124 at 3). */
function ceilToDigits(value: number, digits: number): number {
  if (value === 0) return 0;
  const scale = 10 ** (digits - 1 - Math.floor(Math.log10(value)));
  return Math.ceil(value * scale - 1e-9) / scale;
}
