// `infergate optimize MODEL --version N --to MODE`: one source version of a
// repository model → a new version beside it, made by the mode (modes.ts) and
// verified before anything is written:
//
//   scan models/<m>/ ─▶ read <N>/model.onnx ─▶ mode.transform ─▶ verify against <N>
//     ─▶ models/<m>/.optimize-<new>-….tmp/{model.onnx, optimization.json} ─▶ rename to models/<m>/<new>/
//
// The version directory appears whole, by one rename: a worker or gateway
// scanning the repository never sees <new>/ without its model.onnx (a version
// it would mark UNAVAILABLE) nor half a file. The temp directory's name is not
// a version name, so scans skip it. rename(2) refuses a non-empty target, and
// the target is checked just before, so an existing version is never replaced.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_FILE, versionDirectories } from '../../common/model-repository.ts';
import { decodeModel } from '../../common/onnx/decode-model.ts';
import { modelReport } from '../../common/onnx/model-report.ts';
import { RUNTIME_VERSION } from '../runtime-version.ts';
import { OPTIMIZE_MODES, type OptimizeMode, type Tolerance } from './modes.ts';
import { chooseOutputVersion, operatorChange, optimizationRecord, renderRecord, type FileDigest } from './plan.ts';
import { measureReport, type OptimizationReport, type ReportOptions } from './report.ts';
import { REPORT_FILES, renderReport } from './report-render.ts';
import { verifyOutputs } from './verify.ts';

export const RECORD_FILE = 'optimization.json';

/** `report`: measure the new version against the source and write the report beside it; absent, no report. */
export type OptimizeRequest = { repository: string; model: string; version: string; mode: string; outVersion?: string; report?: ReportOptions };

export type Optimized = {
  modelPath: string;
  recordPath: string;
  version: string;
  source: FileDigest;
  output: FileDigest;
  tolerance: Tolerance;
  maxAbsError: Record<string, number | null>;
  maxErrorOfOutputRange: Record<string, number | null>;
  samples: number;
  notes: string[];
  /** With a report: what it measured, and where report.md is. */
  report?: OptimizationReport;
  reportPath?: string;
};

/** A reason the model or repository gives for not optimizing; its message is one line. */
export class OptimizeError extends Error {
  override name = 'OptimizeError';
}

/** `modes` is the table to look `request.mode` up in: a test hands in a mode of its own. */
export async function optimize(request: OptimizeRequest, modes: Readonly<Record<string, OptimizeMode>> = OPTIMIZE_MODES): Promise<Optimized> {
  const mode = modes[request.mode];
  if (!mode) throw new OptimizeError(`--to ${request.mode}: no such mode (${Object.keys(modes).join(', ')})`);
  const { repository, model } = request;
  const present = versionDirectories(repository, model);
  if (present.length === 0) throw new OptimizeError(`MODEL ${JSON.stringify(model)}: not a model in ${repository} (no ${join(repository, model)}/<version>/ directory)`);
  if (!present.includes(request.version)) throw new OptimizeError(`--version ${request.version}: ${model} has no such version (it has ${present.join(', ')})`);
  const chosen = chooseOutputVersion(model, present, request.outVersion);
  if ('reason' in chosen) throw new OptimizeError(chosen.reason);

  const sourcePath = join(repository, model, request.version, MODEL_FILE);
  let sourceBytes: Uint8Array;
  try {
    sourceBytes = new Uint8Array(await readFile(sourcePath));
  } catch (err) {
    throw new OptimizeError(`cannot read ${sourcePath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const sourceModel = decodeModel(sourceBytes);
  if ('reason' in sourceModel) throw new OptimizeError(`${sourcePath}: ${sourceModel.reason}`);

  let made;
  try {
    made = await mode.transform({ path: sourcePath, bytes: sourceBytes });
  } catch (err) {
    throw new OptimizeError(`--to ${request.mode} failed on ${sourcePath}: ${oneLine(err)}`);
  }
  const madeModel = decodeModel(made.bytes);
  if ('reason' in madeModel) throw new OptimizeError(`--to ${request.mode} made something that is ${madeModel.reason}`);

  const verification = await verifyOutputs(model, sourceBytes, made.bytes, mode.tolerance);
  if (verification.failure !== null) throw new OptimizeError(`--to ${request.mode} changes ${model}'s answers, nothing written: ${verification.failure}`);

  const change = operatorChange(modelReport(sourceModel.model).operators, modelReport(madeModel.model).operators);
  const notes = [...(change === null ? [] : [change]), ...made.notes];
  const source = digest(sourceBytes);
  const output = digest(made.bytes);
  const record = optimizationRecord({
    model,
    mode: request.mode,
    options: mode.options,
    runtimeVersion: RUNTIME_VERSION,
    source: { version: request.version, ...source },
    output: { version: chosen.version, ...output },
    verification: {
      samples: verification.samples,
      tolerance: mode.tolerance,
      maxAbsError: verification.maxAbsError,
      maxErrorOfOutputRange: verification.maxErrorOfOutputRange,
    },
    notes,
  });
  let report: OptimizationReport | undefined;
  if (request.report !== undefined) {
    const versions = { source: { version: request.version, bytes: source.bytes, model: sourceBytes }, made: { version: chosen.version, bytes: output.bytes, model: made.bytes } };
    try {
      report = await measureReport({ model, mode: request.mode, ...versions }, request.report);
    } catch (err) {
      throw new OptimizeError(`the report failed, nothing written: ${oneLine(err)}`);
    }
  }
  const files = { [MODEL_FILE]: made.bytes, [RECORD_FILE]: renderRecord(record), ...(report === undefined ? {} : renderReport(report)) };
  const versionDir = await writeVersion(join(repository, model), chosen.version, files);
  return {
    modelPath: join(versionDir, MODEL_FILE),
    recordPath: join(versionDir, RECORD_FILE),
    version: chosen.version,
    source,
    output,
    tolerance: mode.tolerance,
    maxAbsError: verification.maxAbsError,
    maxErrorOfOutputRange: verification.maxErrorOfOutputRange,
    samples: verification.samples.length,
    notes,
    ...(report === undefined ? {} : { report, reportPath: join(versionDir, REPORT_FILES.markdown) }),
  };
}

/** Writes the files into a temp directory beside the versions, then renames it to the version: one step for a scanner. */
async function writeVersion(modelDir: string, version: string, files: Record<string, Uint8Array | string>): Promise<string> {
  const target = join(modelDir, version);
  const temp = join(modelDir, `.optimize-${version}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(temp);
    for (const [name, content] of Object.entries(files)) await writeFile(join(temp, name), content);
    if (await exists(target)) throw new OptimizeError(`${target} appeared while optimizing (another writer?); nothing written`);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (err instanceof OptimizeError) throw err;
    throw new OptimizeError(`cannot write ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return target;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function digest(bytes: Uint8Array): FileDigest {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}
