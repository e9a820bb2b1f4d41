// Why onnxruntime could not create a session for a model file, in the words
// `infergate check-model` uses: the file is not a model (empty, truncated,
// not protobuf: common/onnx/decode-model.ts), or onnxruntime's own message
// with the operator it lacks named (common/onnx/load-failure.ts).
//
// Only a failed load pays for this: the file is read and decoded again after
// onnxruntime gave up on it, so a worker's loads that succeed cost what they
// did. Never throws: a file that cannot be read again keeps onnxruntime's
// explained message.

import { readFile, stat } from 'node:fs/promises';
import { decodeModel } from '../common/onnx/decode-model.ts';
import { explainLoadFailure, type LoadFailure } from '../common/onnx/load-failure.ts';
import { modelReport } from '../common/onnx/model-report.ts';
import { RUNTIME_VERSION } from './runtime-version.ts';

/** Protobuf messages (and readFile) stop at 2 GiB; a larger model keeps its weights as external data. */
const MAX_DECODE_BYTES = 2 ** 31 - 1;

export async function diagnoseLoadFailure(path: string, error: unknown): Promise<LoadFailure> {
  let bytes: Buffer | undefined;
  try {
    if ((await stat(path)).size <= MAX_DECODE_BYTES) bytes = await readFile(path);
  } catch {
    bytes = undefined;
  }
  if (!bytes) return explainLoadFailure(error, RUNTIME_VERSION);
  const decoded = decodeModel(bytes);
  if ('reason' in decoded) return { reason: decoded.reason, unsupportedOperators: [] };
  return explainLoadFailure(error, RUNTIME_VERSION, modelReport(decoded.model).operators);
}
