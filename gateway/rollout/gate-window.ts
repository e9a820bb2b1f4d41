// What the stable and the candidate version did over the last windowMs, for
// the rollout gates: requests, errors and latency per version (arm), and how
// their answers agreed on shadowed requests. The mechanism records, a tick
// reads about once a second; time is passed in, never read.
//
//   ring of ceil(windowMs / bucketMs) + 1 buckets, reused as time moves on:
//   ┌──────┬──────┬──────┬─ ─ ─┬──────┐
//   │ k−30 │ k−29 │ k−28 │     │  k   │   bucket k covers [k·bucketMs, (k+1)·bucketMs)
//   └──────┴──────┴──────┴─ ─ ─┴──────┘
//
// A bucket counts while any part of it lies in (atMs − windowMs, atMs], so an
// event is read for windowMs to windowMs + bucketMs, never for less. Each
// bucket keeps at most maxSamplesPerBucket latencies per arm by reservoir
// sampling (Vitter's algorithm R), so memory is bounded whatever the traffic;
// the p99 weighs each kept sample by the requests it stands for.

import type { Agreement } from './output-agreement.ts';

export type ArmName = 'stable' | 'candidate';
export type ArmReadings = { requests: number; errors: number; p99Ms: number | undefined };
export type WindowReadings = {
  stable: ArmReadings;
  candidate: ArmReadings;
  agreement: { comparisons: number; maxAbsDiff: number; argmaxRows: number; argmaxAgreeingRows: number };
};

type ArmBucket = { requests: number; errors: number; /** Latencies offered to the reservoir. */ seen: number; samples: Float64Array };

type Bucket = {
  /** floor(atMs / bucketMs) of what it holds; -Infinity when it holds nothing. */
  index: number;
  stable: ArmBucket;
  candidate: ArmBucket;
  agreement: WindowReadings['agreement'];
};

export class GateWindow {
  readonly #windowMs: number;
  readonly #bucketMs: number;
  readonly #maxSamples: number;
  readonly #random: () => number;
  readonly #buckets: Bucket[];

  constructor(options: { windowMs: number; bucketMs?: number; maxSamplesPerBucket?: number; random: () => number }) {
    const { windowMs, bucketMs = 1000, maxSamplesPerBucket = 2048, random } = options;
    if (!(windowMs > 0) || !(bucketMs > 0) || !Number.isSafeInteger(maxSamplesPerBucket) || maxSamplesPerBucket < 1) {
      throw new RangeError(`GateWindow: windowMs ${windowMs} and bucketMs ${bucketMs} must be > 0, maxSamplesPerBucket ${maxSamplesPerBucket} a whole number ≥ 1`);
    }
    this.#windowMs = windowMs;
    this.#bucketMs = bucketMs;
    this.#maxSamples = maxSamplesPerBucket;
    this.#random = random;
    const arm = (): ArmBucket => ({ requests: 0, errors: 0, seen: 0, samples: new Float64Array(maxSamplesPerBucket) });
    this.#buckets = Array.from({ length: Math.ceil(windowMs / bucketMs) + 1 }, () => ({ index: -Infinity, stable: arm(), candidate: arm(), agreement: noAgreement() }));
  }

  /** One answered request; a failed one counts in errors, and its latency (often a timeout or a fast refusal) is no sample. */
  record(arm: ArmName, atMs: number, latencyMs: number | undefined, failed: boolean): void {
    const bucket = this.#bucketAt(atMs);
    if (bucket === undefined) return;
    const a = bucket[arm];
    a.requests++;
    if (failed) a.errors++;
    if (failed || latencyMs === undefined) return;
    a.seen++;
    if (a.seen <= this.#maxSamples) a.samples[a.seen - 1] = latencyMs;
    else {
      const slot = Math.floor(this.#random() * a.seen);
      if (slot < this.#maxSamples) a.samples[slot] = latencyMs;
    }
  }

  /** The agreement of one shadowed request's two answers. */
  compare(atMs: number, agreement: Agreement): void {
    const bucket = this.#bucketAt(atMs);
    if (bucket === undefined) return;
    addAgreement(bucket.agreement, 1, agreement);
  }

  readings(atMs: number): WindowReadings {
    const newest = Math.floor(atMs / this.#bucketMs);
    // The bucket holding the window's (open) start still reaches into it.
    const oldest = Math.floor((atMs - this.#windowMs) / this.#bucketMs);
    const live = this.#buckets.filter((b) => b.index >= oldest && b.index <= newest);
    const agreement = noAgreement();
    for (const b of live) addAgreement(agreement, b.agreement.comparisons, b.agreement);
    return { stable: this.#arm(live, 'stable'), candidate: this.#arm(live, 'candidate'), agreement };
  }

  clear(): void {
    for (const b of this.#buckets) b.index = -Infinity;
  }

  /** The bucket for atMs, emptied if it held an older one; undefined when atMs is older than what the slot holds now. */
  #bucketAt(atMs: number): Bucket | undefined {
    const index = Math.floor(atMs / this.#bucketMs);
    const n = this.#buckets.length;
    const bucket = this.#buckets[((index % n) + n) % n]!;
    if (bucket.index > index) return undefined;
    if (bucket.index < index) {
      bucket.index = index;
      for (const a of ARMS) {
        bucket[a].requests = 0;
        bucket[a].errors = 0;
        bucket[a].seen = 0;
      }
      Object.assign(bucket.agreement, NO_AGREEMENT);
    }
    return bucket;
  }

  #arm(live: readonly Bucket[], name: ArmName): ArmReadings {
    let requests = 0;
    let errors = 0;
    let kept = 0;
    for (const b of live) {
      requests += b[name].requests;
      errors += b[name].errors;
      kept += Math.min(b[name].seen, this.#maxSamples);
    }
    return { requests, errors, p99Ms: kept === 0 ? undefined : p99(live.map((b) => b[name]), kept, this.#maxSamples) };
  }
}

const ARMS: readonly ArmName[] = ['stable', 'candidate'];
const NO_AGREEMENT: WindowReadings['agreement'] = { comparisons: 0, maxAbsDiff: 0, argmaxRows: 0, argmaxAgreeingRows: 0 };
const noAgreement = (): WindowReadings['agreement'] => ({ ...NO_AGREEMENT });

function addAgreement(to: WindowReadings['agreement'], comparisons: number, from: Agreement): void {
  to.comparisons += comparisons;
  if (from.maxAbsDiff > to.maxAbsDiff) to.maxAbsDiff = from.maxAbsDiff;
  to.argmaxRows += from.argmaxRows;
  to.argmaxAgreeingRows += from.argmaxAgreeingRows;
}

/**
 * Nearest-rank 99th percentile: the smallest sample with at least 99 % of the weight at or below it. A sample kept
 * from a bucket that saw more than it kept stands for seen/kept requests, so a busy second is not under-counted.
 */
function p99(arms: readonly ArmBucket[], kept: number, maxSamples: number): number {
  const values = new Float64Array(kept);
  const weights = new Float64Array(kept);
  let i = 0;
  let total = 0;
  for (const a of arms) {
    const n = Math.min(a.seen, maxSamples);
    const weight = a.seen / n;
    for (let j = 0; j < n; j++, i++) {
      values[i] = a.samples[j]!;
      weights[i] = weight;
    }
    total += a.seen;
  }
  const order = Uint32Array.from({ length: kept }, (_, k) => k).sort((x, y) => values[x]! - values[y]!);
  // 100 · cumulative ≥ 99 · total: exact in integers while no bucket overflowed.
  let cumulative = 0;
  for (const k of order) {
    cumulative += weights[k]!;
    if (100 * cumulative >= 99 * total) return values[k]!;
  }
  return values[order[kept - 1]!]!;
}
