// Loading one model version in a worker, start to end, with every fault
// turned into a reason rather than an exception:
//
//   config.yaml valid? → model.onnx there? → SHA-256 of the file (its fingerprint)
//     → onnxruntime session (refused: the reason `infergate check-model` gives)
//     → signature → warm-up (configured samples must pass; the synthetic one only warns) → loaded
//
// onnxruntime allocates and plans on a session's first run; warming up moves
// that cost, and any failure of the model to run at all, before the first
// real request.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { RepositoryModel, RepositoryVersion } from '../common/model-repository.ts';
import { feedsFor, fetchesFor, loadedVersion, type CreateSession, type LoadedVersion, type Session } from './loaded-version.ts';
import { diagnoseLoadFailure } from './load-diagnosis.ts';
import type { WorkerSessionOptions } from '../common/worker-options.ts';
import { signatureFromMetadata } from './signature.ts';
import { configuredWarmup, syntheticWarmup, type WarmupRun } from './warmup.ts';

/** A version's load: loaded (perhaps with a warning to report), or the reason it cannot be served. */
export type VersionLoad = { loaded: LoadedVersion; warning?: string } | { reason: string };

/**
 * Loads one version: fingerprint, session, signature, warm-up. Resolves with the loaded version (and the
 * warning of a synthetic warm-up that failed), or with the reason (one line, naming the file) why it cannot
 * be served. Never rejects: a model's fault is the model's. `knownFingerprint`: the file's SHA-256 when the
 * caller has just computed it (a reload compares it first), so a large file is not read twice.
 */
export async function loadVersion(
  model: RepositoryModel,
  file: RepositoryVersion,
  createSession: CreateSession,
  sessionOptions: ort.InferenceSession.SessionOptions,
  knownFingerprint?: string,
): Promise<VersionLoad> {
  if (model.configError !== undefined) return { reason: model.configError };
  if (file.noDirectory) return { reason: `version ${file.version} is not in the repository (no ${dirname(file.path)}/ directory)` };
  if (file.missing) return { reason: `${file.path} is missing` };
  let fingerprint: string;
  try {
    fingerprint = knownFingerprint ?? (await fingerprintOf(file.path));
  } catch (err) {
    return { reason: `${file.path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let session: Session;
  try {
    session = await createSession(file.path, sessionOptions);
  } catch (err) {
    // In check-model's words (load-diagnosis.ts): not a model at all, or the operator onnxruntime lacks.
    return { reason: `${file.path}: ${(await diagnoseLoadFailure(file.path, err)).reason}` };
  }
  try {
    const signature = signatureFromMetadata(model.name, file.version, session.inputMetadata, session.outputMetadata, fingerprint);
    const loaded = loadedVersion(signature, session);
    const samples = model.config.warmup;
    if (samples) {
      for (const run of await configuredWarmup(samples, signature, dirname(dirname(file.path)))) await warmUp(loaded, run);
    } else {
      const synthetic = syntheticWarmup(signature);
      try {
        await warmUp(loaded, synthetic);
      } catch (err) {
        return { loaded, warning: `${file.path}: ${oneLine(err)}; served anyway (configure warmup in ${model.name}/config.yaml to warm it up with inputs it accepts)` };
      }
    }
    return { loaded };
  } catch (err) {
    await session.release().catch(() => {});
    return { reason: `${file.path}: ${oneLine(err)}` };
  }
}

/** Runs a warm-up sample its count of times through the request path's checks; throws Error naming the sample. */
async function warmUp(loaded: LoadedVersion, run: WarmupRun): Promise<void> {
  try {
    const feeds = feedsFor(loaded, run.tensors);
    const fetches = fetchesFor(loaded, run.outputs);
    for (let i = 0; i < run.count; i++) await loaded.session.run(feeds, fetches);
  } catch (err) {
    throw new Error(`warm-up ${run.label} failed: ${oneLine(err)}`, { cause: err });
  }
}

/** A model file's fingerprint: the SHA-256 (hex) of its bytes, read as a stream (a model may be gigabytes). */
export function fingerprintOf(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .once('error', reject)
      .once('end', () => resolve(hash.digest('hex')));
  });
}

/** An error's message on one line: onnxruntime's carry newlines and source locations. */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

export function toOrtSessionOptions(options: WorkerSessionOptions): ort.InferenceSession.SessionOptions {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.graphOptimizationLevel,
    executionMode: options.executionMode,
    // Fatal only: every error of a run reaches us as an exception and is answered (or reported once as a
    // version's reason); onnxruntime's own copy on stderr would print a line per bad client request.
    logSeverityLevel: 4,
  };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpThreads;
  return sessionOptions;
}
