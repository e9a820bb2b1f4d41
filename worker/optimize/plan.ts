// The pure decisions of `infergate optimize`: which version number the new
// model gets, and what its optimization.json says. The caller (optimize.ts)
// reads the repository and the files and writes the result.
//
// The record holds nothing that changes between runs (no time, no host, no
// path outside the repository, no duration): the same source, mode and
// onnxruntime give a byte-identical optimization.json, as the model itself.

import { compareVersions, isVersionName } from '../../common/model-repository.ts';
import type { OperatorUse } from '../../common/onnx/model-report.ts';
import type { Tolerance } from './optimize-mode.ts';

export type OutputVersion = { version: string } | { reason: string };

/**
 * `requested` when given (it must be a version name no directory has), else one above the highest present version.
 * Never an existing version: optimize adds a version, it does not replace one a worker may be serving.
 */
export function chooseOutputVersion(model: string, present: readonly string[], requested: string | undefined): OutputVersion {
  if (requested !== undefined) {
    if (!isVersionName(requested)) return { reason: `--out-version ${JSON.stringify(requested)} is not a version (a positive integer without leading zeros)` };
    if (present.includes(requested)) return { reason: `--out-version ${requested}: ${model} has a version ${requested} already, and optimize never overwrites one` };
    return { version: requested };
  }
  const highest = [...present].sort(compareVersions).at(-1);
  // BigInt: version names are exact at any length (compareVersions), so is their successor.
  return { version: highest === undefined ? '1' : (BigInt(highest) + 1n).toString() };
}

export type FileDigest = { sha256: string; bytes: number };

export type RecordInput = {
  model: string;
  mode: string;
  options: Readonly<Record<string, string | number | boolean>>;
  runtimeVersion: string;
  source: { version: string } & FileDigest;
  output: { version: string } & FileDigest;
  verification: {
    samples: readonly string[];
    tolerance: Tolerance;
    maxAbsError: Readonly<Record<string, number | null>>;
    maxErrorOfOutputRange: Readonly<Record<string, number | null>>;
  };
  notes: readonly string[];
};

/** optimization.json's content, keys in a fixed order. */
export function optimizationRecord(input: RecordInput): Record<string, unknown> {
  return {
    model: input.model,
    version: input.output.version,
    madeBy: `infergate optimize --to ${input.mode}`,
    mode: input.mode,
    options: sortedKeys(input.options),
    runtime: { 'onnxruntime-node': input.runtimeVersion },
    source: { version: input.source.version, file: 'model.onnx', sha256: input.source.sha256, bytes: input.source.bytes },
    output: { file: 'model.onnx', sha256: input.output.sha256, bytes: input.output.bytes },
    verification: {
      samples: [...input.verification.samples],
      tolerance: { ...input.verification.tolerance },
      maxAbsError: sortedKeys(input.verification.maxAbsError),
      maxErrorOfOutputRange: sortedKeys(input.verification.maxErrorOfOutputRange),
    },
    notes: [...input.notes],
  };
}

export function renderRecord(record: Record<string, unknown>): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** The operators the mode changed, as one note ("operators: Add ×3, MatMul ×3 → Gemm ×3"); null when none changed. */
export function operatorChange(before: readonly OperatorUse[], after: readonly OperatorUse[]): string | null {
  const counts = (uses: readonly OperatorUse[]) => new Map(uses.map((u) => [u.domain === '' || u.domain === 'ai.onnx' ? u.opType : `${u.domain}.${u.opType}`, u.count]));
  const was = counts(before);
  const now = counts(after);
  const list = (from: Map<string, number>, other: Map<string, number>) =>
    [...from]
      .filter(([op, n]) => other.get(op) !== n)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([op, n]) => `${op} ×${n}`)
      .join(', ');
  const removed = list(was, now);
  const added = list(now, was);
  if (removed === '' && added === '') return null;
  return `operators: ${removed || 'none'} → ${added || 'none'}`;
}

function sortedKeys<T>(object: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
