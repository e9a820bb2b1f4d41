// `infergate check-model`: one ONNX file through every stage a worker puts a
// version through, each stage's findings in one report (common/onnx/check-report.ts):
//
//   read → decode (onnx-proto) → report → onnxruntime session → signature
//     → sample (--sample, or seeded random inputs, dynamic dims 1) → run → compare (--expected)
//
// It lives with the worker because it is the worker's path: the signature,
// the sample's decoding and the feeds go through the same functions as a
// served request (signature.ts, warmup.ts, loaded-version.ts), and a load
// failure is explained by load-diagnosis.ts, which the worker's loader uses
// too, so a file check-model refuses is refused by a worker for the same
// reason. Outputs are compared as the JSON values a client would get back
// (common/kserve/render-tensor.ts).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeInferRequest } from '../common/kserve/decode-request.ts';
import type { CheckReport, TensorSummary } from '../common/onnx/check-report.ts';
import { compareOutputs, parseExpectedOutputs, type ExpectedOutput } from '../common/onnx/compare-outputs.ts';
import { decodeModel } from '../common/onnx/decode-model.ts';
import { explainLoadFailure, ortMessage } from '../common/onnx/load-failure.ts';
import { modelReport } from '../common/onnx/model-report.ts';
import type { ModelSignature, Tensor } from '../common/wire.ts';
import { readFlagFile } from './flag-file.ts';
import { feedsFor, fetchesFor, loadedVersion, type Session } from './loaded-version.ts';
import { signatureFromMetadata } from './signature.ts';
import { answerValues, fromOrtTensor } from './tensor-convert.ts';
import { RUNTIME_VERSION } from './runtime-version.ts';
import { randomSamples, type WarmupRun } from './warmup.ts';

export type CheckModelOptions = {
  /** A KServe v2 JSON infer request to run; absent: one synthetic sample from the signature. */
  samplePath?: string;
  /** A file of expected outputs ({"outputs":[{name, shape, data}]}, as a KServe v2 answer). */
  expectedPath?: string;
  toleranceAbs: number;
};

/** Fatal only: every error reaches us as an exception; onnxruntime's own copy on stderr would only repeat it. */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4 };

/** Checks one model file; never throws for a fault of the file, the sample or the expected outputs. */
export async function checkModel(file: string, options: CheckModelOptions): Promise<CheckReport> {
  const report: CheckReport = { file, fileBytes: 0, sha256: null, ok: false, reason: null, runtime: RUNTIME_VERSION, model: null, load: null, run: null, comparison: null };
  const fail = (reason: string): CheckReport => ({ ...report, ok: false, reason });

  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  report.fileBytes = bytes.byteLength;
  report.sha256 = createHash('sha256').update(bytes).digest('hex');
  const decoded = decodeModel(bytes);
  if ('reason' in decoded) return fail(decoded.reason);
  report.model = modelReport(decoded.model);

  let session: Session;
  try {
    session = await ort.InferenceSession.create(file, SESSION_OPTIONS);
  } catch (err) {
    const failure = explainLoadFailure(err, RUNTIME_VERSION, report.model.operators);
    report.load = { ok: false, unsupportedOperators: failure.unsupportedOperators };
    return fail(failure.reason);
  }
  report.load = { ok: true, unsupportedOperators: [] };
  try {
    return await runStages(report, session, options, fail);
  } finally {
    await session.release().catch(() => {});
  }
}

async function runStages(report: CheckReport, session: Session, options: CheckModelOptions, fail: (reason: string) => CheckReport): Promise<CheckReport> {
  const { name, version } = repositoryName(report.file);
  let signature: ModelSignature;
  try {
    signature = signatureFromMetadata(name, version, session.inputMetadata, session.outputMetadata, report.sha256 ?? '');
  } catch (err) {
    return fail(`a worker cannot serve it: ${ortMessage(err)}`);
  }

  let expected: ExpectedOutput[] | undefined;
  let sample: WarmupRun;
  try {
    if (options.expectedPath !== undefined) expected = parseExpectedOutputs(parseJson(await readFlagFile(options.expectedPath, '--expected'), options.expectedPath));
    sample = options.samplePath === undefined ? syntheticSample(signature) : await requestSample(options.samplePath, signature);
  } catch (err) {
    return fail(ortMessage(err));
  }

  const loaded = loadedVersion(signature, session);
  report.run = { sample: sample.label, ok: false, inputs: sample.tensors.map(summary), outputs: [] };
  let outputs: Tensor[];
  try {
    const fetches = fetchesFor(loaded, sample.outputs);
    const results = await session.run(feedsFor(loaded, sample.tensors), fetches);
    outputs = fetches.map((name) => fromOrtTensor(name, results[name] as ort.Tensor));
  } catch (err) {
    return fail(`the ${sample.label} failed to run: ${ortMessage(err)}`);
  }
  report.run = { ...report.run, ok: true, outputs: outputs.map(summary) };

  if (expected) {
    report.comparison = compareOutputs(outputs.map(answerValues), expected, options.toleranceAbs);
    if (report.comparison.failure !== null) return fail(report.comparison.failure);
  }
  return { ...report, ok: true, reason: null };
}

/** models/<name>/<version>/model.onnx names itself in messages as a worker would; any other file by its name. */
function repositoryName(file: string): { name: string; version: string } {
  const versionDir = basename(dirname(file));
  if (basename(file) === 'model.onnx' && /^\d+$/.test(versionDir)) return { name: basename(dirname(dirname(file))), version: versionDir };
  return { name: basename(file), version: '1' };
}

/** One row of seeded random values per input (every dynamic dim 1), as warmup.ts fills a `random` sample. */
function syntheticSample(signature: ModelSignature): WarmupRun {
  const [run] = randomSamples(signature, [1]);
  return { ...run!, label: 'synthetic sample (dynamic dims 1, seeded random values)' };
}

async function requestSample(path: string, signature: ModelSignature): Promise<WarmupRun> {
  const body = Buffer.from(await readFlagFile(path, '--sample'));
  try {
    const request = decodeInferRequest(body, signature);
    return { label: `sample ${path}`, count: 1, tensors: request.tensors, outputs: request.outputs };
  } catch (err) {
    throw new Error(`sample ${path}: ${ortMessage(err)}`, { cause: err });
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}

function summary(tensor: Tensor): TensorSummary {
  return { name: tensor.name, datatype: tensor.datatype, shape: [...tensor.shape] };
}
