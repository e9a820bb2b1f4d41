// What a new version costs in accuracy and buys in speed, against the version
// it was made from: measured in this process before the version is written,
// then rendered into its directory (report-render.ts) as report.md, two SVG
// charts and report.json, which a rollout reads its thresholds from.
//
//   source, new ─▶ sample set (N seeded rows, or a file of requests) ─▶ run both
//        │             ─▶ per output: max and mean |error|, cosine similarity, top-1 agreement
//        │                   ─▶ the agreement gate's thresholds (gate-thresholds.ts)
//        └─▶ rows/s at batch 1 and 32, one thread, interleaved rounds (rows-per-second.ts)
//
// Accuracy is the same on every run and machine; speed is this machine's, on
// the day (the report names the CPU), so only its ratios carry over.

import { cpus } from 'node:os';
import type * as ort from 'onnxruntime-node';
import { AccuracyTally, type OutputAccuracy } from '../../common/onnx/output-accuracy.ts';
import { ortMessage } from '../../common/onnx/load-failure.ts';
import { RUNTIME_VERSION } from '../runtime-version.ts';
import { answerValues } from '../tensor-convert.ts';
import { agreementThresholds, type AgreementThresholds } from './gate-thresholds.ts';
import { measureRowsPerSecond, SPEED_SESSION_OPTIONS, type SpeedOptions } from './rows-per-second.ts';
import { randomSampleSet, requestFileSampleSet, type SampleSet } from './sample-set.ts';
import { openPair, releasePair, runAll } from './verify.ts';

export type ReportSamples = { kind: 'random'; rows: number } | { kind: 'file'; path: string };
export type ReportOptions = { samples: ReportSamples; speed: SpeedOptions };

export const DEFAULT_REPORT_OPTIONS: ReportOptions = { samples: { kind: 'random', rows: 10_000 }, speed: { batches: [1, 32], rounds: 5, roundMs: 1000 } };

export type VersionFacts = { version: string; bytes: number };

export type SpeedRow = { batch: number; sourceRowsPerS: number; newRowsPerS: number; ratio: number } | { batch: number; fixedBatch: true };

export type OptimizationReport = {
  model: string;
  mode: string;
  source: VersionFacts;
  made: VersionFacts;
  machine: { cpu: string; cores: number; node: string; onnxruntime: string };
  samples: { description: string; rows: number };
  accuracy: OutputAccuracy[];
  speed: { intraOpThreads: 1; rounds: number; roundMs: number; batches: SpeedRow[] };
  /** The rollout's agreement gate as this report sets it; a reason instead when none can hold the measured error. */
  gate: AgreementThresholds | { reason: string };
};

export type ReportInput = { model: string; mode: string; source: VersionFacts & { model: Uint8Array }; made: VersionFacts & { model: Uint8Array } };

/** Measures both models; throws Error with a one-line reason (a sample file at fault, a sample that fails to run). */
export async function measureReport(input: ReportInput, options: ReportOptions): Promise<OptimizationReport> {
  const opened = await openPair(input.model, input.source.model, input.made.model, SPEED_SESSION_OPTIONS);
  if ('failure' in opened) throw new Error(opened.failure);
  const [was, now] = opened.pair;
  try {
    const samples: SampleSet = options.samples.kind === 'random' ? randomSampleSet(was.signature, options.samples.rows) : await requestFileSampleSet(options.samples.path, was.signature);
    const tally = new AccuracyTally();
    for (const run of samples.runs) {
      try {
        const [expected, actual] = [await runAll(was, run.tensors), await runAll(now, run.tensors)];
        tally.add(
          expected.map((t) => ({ ...answerValues(t), datatype: t.datatype })),
          actual.map((t) => ({ ...answerValues(t), datatype: t.datatype })),
        );
      } catch (err) {
        throw new Error(`${run.label} failed to run: ${ortMessage(err)}`, { cause: err });
      }
    }
    const accuracy = tally.result();
    const speeds = await measureRowsPerSecond([was.session, now.session] as ort.InferenceSession[], options.speed);
    return {
      model: input.model,
      mode: input.mode,
      source: { version: input.source.version, bytes: input.source.bytes },
      made: { version: input.made.version, bytes: input.made.bytes },
      machine: machineFacts(),
      samples: { description: samples.description, rows: samples.rows },
      accuracy,
      speed: {
        intraOpThreads: 1,
        rounds: options.speed.rounds,
        roundMs: options.speed.roundMs,
        batches: speeds.map(({ batch, sessions: [source, made] }): SpeedRow =>
          source && made ? { batch, sourceRowsPerS: source.medianRowsPerS, newRowsPerS: made.medianRowsPerS, ratio: made.medianRatioToFirst } : { batch, fixedBatch: true },
        ),
      },
      gate: agreementThresholds(accuracy),
    };
  } finally {
    await releasePair(opened.pair);
  }
}

function machineFacts(): OptimizationReport['machine'] {
  const cores = cpus();
  return { cpu: cores[0]?.model.trim() ?? 'unknown', cores: cores.length, node: process.version, onnxruntime: RUNTIME_VERSION };
}
