// How far a new model's answers are from the source model's over a sample
// set, output by output: the accuracy half of `infergate optimize`'s report.
// Pure; both sides are the values a KServe v2 JSON answer carries (flat data,
// NaN and ±Infinity as strings), so the report measures what a client would
// see, as check-model and the verification do (compare-outputs.ts).
//
//   per output, over every element of every sample:
//     max |new − source|, mean |new − source|,
//     cosine similarity (all elements as one vector: 1 is the same direction),
//   and for classifier-like outputs, per row: does the top-1 class agree?

import { isClassifierLike } from '../datatypes.ts';
import { elementError, numeric } from './compare-outputs.ts';

export type OutputValues = { name: string; datatype: string; shape: readonly number[]; data: readonly unknown[] };

export type OutputAccuracy = {
  name: string;
  elements: number;
  /** Over the numeric elements; null when none is (BYTES). Infinity when NaN or an infinity is on one side only. */
  maxAbsError: number | null;
  meanAbsError: number | null;
  /** The largest finite |source element|: the scale the errors are read against. */
  sourceMaxAbs: number;
  /** Of the finite numeric pairs; null when there are none. 1 when both vectors are zero. */
  cosineSimilarity: number | null;
  /** Classifier-like outputs only (common/datatypes.ts): rows compared by their argmax, and how many agreed. */
  top1: { rows: number; agreeing: number } | null;
  /** Non-numeric elements (BYTES) that differ, and elements one side lacks (a shape that changed). */
  mismatches: number;
};

type Sums = { elements: number; numeric: number; maxAbs: number; sourceMaxAbs: number; sumAbs: number; dot: number; sourceSquares: number; newSquares: number; finitePairs: number; rows: number; agreeing: number; classifier: boolean; mismatches: number };

/** Folds the outputs of one sample after another, then answers per output in the source's order. */
export class AccuracyTally {
  readonly #sums = new Map<string, Sums>();

  /** One sample's outputs from both models, matched by name; an output only the source has counts as mismatched. */
  add(source: readonly OutputValues[], made: readonly OutputValues[]): void {
    for (const want of source) {
      const sums = this.#sumsOf(want.name);
      const got = made.find((output) => output.name === want.name);
      sums.elements += want.data.length;
      if (got === undefined || got.data.length !== want.data.length) {
        sums.mismatches += want.data.length;
        continue;
      }
      for (let i = 0; i < want.data.length; i++) this.#addElement(sums, want.data[i], got.data[i]);
      if (isClassifierLike(want.datatype, want.shape)) {
        sums.classifier = true;
        const columns = want.shape[1]!;
        for (let row = 0; row * columns < want.data.length; row++) {
          sums.rows++;
          if (argmax(want.data, row * columns, columns) === argmax(got.data, row * columns, columns)) sums.agreeing++;
        }
      }
    }
  }

  result(): OutputAccuracy[] {
    return [...this.#sums].map(([name, s]) => ({
      name,
      elements: s.elements,
      maxAbsError: s.numeric === 0 ? null : s.maxAbs,
      meanAbsError: s.numeric === 0 ? null : s.sumAbs / s.numeric,
      sourceMaxAbs: s.sourceMaxAbs,
      cosineSimilarity: s.finitePairs === 0 ? null : cosine(s),
      top1: s.classifier ? { rows: s.rows, agreeing: s.agreeing } : null,
      mismatches: s.mismatches,
    }));
  }

  #sumsOf(name: string): Sums {
    let sums = this.#sums.get(name);
    if (sums === undefined) {
      sums = { elements: 0, numeric: 0, maxAbs: 0, sourceMaxAbs: 0, sumAbs: 0, dot: 0, sourceSquares: 0, newSquares: 0, finitePairs: 0, rows: 0, agreeing: 0, classifier: false, mismatches: 0 };
      this.#sums.set(name, sums);
    }
    return sums;
  }

  #addElement(sums: Sums, want: unknown, got: unknown): void {
    const error = elementError(got, want);
    if (error === null) {
      if (JSON.stringify(got) !== JSON.stringify(want)) sums.mismatches++;
      return;
    }
    sums.numeric++;
    sums.sumAbs += error;
    if (error > sums.maxAbs) sums.maxAbs = error;
    const a = toNumber(want);
    const b = toNumber(got);
    if (Number.isFinite(a) && Number.isFinite(b)) {
      sums.finitePairs++;
      if (Math.abs(a) > sums.sourceMaxAbs) sums.sourceMaxAbs = Math.abs(a);
      sums.dot += a * b;
      sums.sourceSquares += a * a;
      sums.newSquares += b * b;
    }
  }
}

function cosine(s: Sums): number {
  if (s.sourceSquares === 0 && s.newSquares === 0) return 1;
  if (s.sourceSquares === 0 || s.newSquares === 0) return 0;
  return s.dot / (Math.sqrt(s.sourceSquares) * Math.sqrt(s.newSquares));
}

/** The column of the row's largest number (the first of equals); NaN and non-numbers never win. */
function argmax(data: readonly unknown[], start: number, columns: number): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let column = 0; column < columns; column++) {
    const value = toNumber(data[start + column]);
    if (value > bestValue || (best === -1 && value === bestValue)) {
      best = column;
      bestValue = value;
    }
  }
  return best;
}

function toNumber(value: unknown): number {
  return numeric(value) ?? Number.NaN;
}
