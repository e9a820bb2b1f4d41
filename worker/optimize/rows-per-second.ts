// How many rows per second onnxruntime sessions of models that answer the
// same requests run in this process, side by side: the speed half of the
// optimization report (report.ts) and of benchmarks/micro/model-variants.ts.
//
// Every session has one intra-op thread (a worker's share of one core) and
// gets the same seeded inputs, built from the first session's signature. Each
// round runs every session at each batch size back to back for roundMs, in an
// order that alternates between rounds (A B C, then C B A), so that a drifting
// machine weighs on all alike. Rows/s per session is the median of the
// rounds; the ratio to the first session is the median of the ratios taken
// within each round, which cancels what the rounds share.

import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../../common/prng.ts';

export const SPEED_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 };

export type SpeedOptions = { batches: readonly number[]; rounds: number; roundMs: number };

/** Per batch size, per session: null when the model's batch axis is fixed at another size. */
export type BatchSpeed = { batch: number; sessions: Array<{ medianRowsPerS: number; medianRatioToFirst: number } | null> };

/** Distinct inputs per batch size, cycled through: the sessions see changing data without any generated in the timed loop. */
const INPUT_POOL = 8;
/** Every symbolic axis but the first (the batch) takes this size (the pooler's sequence). */
const OTHER_DYNAMIC_SIZE = 8;
const WARM_UP_RUNS = 20;

type Feeds = Record<string, ort.Tensor>;

/** Seeded inputs for the session's signature at one batch size; null when a fixed first axis rules that size out. */
export function inputPool(session: ort.InferenceSession, batch: number, seed: number): Feeds[] | null {
  const random = mulberry32(seed);
  const shapes = session.inputMetadata.map((input) => {
    if (!input.isTensor) throw new Error(`input ${input.name} is not a tensor`);
    return input.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? batch : OTHER_DYNAMIC_SIZE));
  });
  if (shapes.some((dims) => dims[0] !== batch)) return null;
  return Array.from({ length: INPUT_POOL }, () => {
    const feeds: Feeds = {};
    for (const [i, input] of session.inputMetadata.entries()) {
      const dims = shapes[i]!;
      const count = dims.reduce((a, b) => a * b, 1);
      // Integer inputs are row ids (the ranker's table): small enough for any table.
      feeds[input.name] =
        input.isTensor && input.type === 'int64'
          ? new ort.Tensor('int64', BigInt64Array.from({ length: count }, () => BigInt(Math.floor(random() * 100))), dims)
          : new ort.Tensor('float32', Float32Array.from({ length: count }, () => random() * 2 - 1), dims);
    }
    return feeds;
  });
}

async function rowsPerS(session: ort.InferenceSession, pool: readonly Feeds[], batch: number, roundMs: number): Promise<number> {
  let runs = 0;
  const start = performance.now();
  const end = start + roundMs;
  while (performance.now() < end) await session.run(pool[runs++ % INPUT_POOL]!);
  return (runs * batch) / ((performance.now() - start) / 1000);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Times every session at every batch size, interleaved; the sessions must share the first one's signature. */
export async function measureRowsPerSecond(sessions: readonly ort.InferenceSession[], options: SpeedOptions): Promise<BatchSpeed[]> {
  const speeds: BatchSpeed[] = [];
  for (const batch of options.batches) {
    const pool = inputPool(sessions[0]!, batch, 20 + batch);
    if (pool === null) {
      speeds.push({ batch, sessions: sessions.map(() => null) });
      continue;
    }
    for (const session of sessions) for (let i = 0; i < WARM_UP_RUNS; i++) await session.run(pool[i % INPUT_POOL]!);
    const rounds = sessions.map((): number[] => []);
    for (let round = 0; round < options.rounds; round++) {
      const order = sessions.map((_, i) => (round % 2 === 0 ? i : sessions.length - 1 - i));
      for (const i of order) rounds[i]!.push(await rowsPerS(sessions[i]!, pool, batch, options.roundMs));
    }
    speeds.push({
      batch,
      sessions: rounds.map((values) => ({
        medianRowsPerS: median(values),
        medianRatioToFirst: median(values.map((value, round) => value / rounds[0]![round]!)),
      })),
    });
  }
  return speeds;
}
