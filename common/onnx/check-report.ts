// What `infergate check-model` found, as one object (printed whole by --json)
// and as the text a person reads. Each stage is null when it was not reached:
//
//   file ─decode─▶ model ─onnxruntime─▶ load ─sample─▶ run ─--expected─▶ comparison
//
// The first stage that fails gives `reason`, one line, and the stages after
// it stay null.

import type { KServeDatatype } from '../datatypes.ts';
import type { Comparison } from './compare-outputs.ts';
import type { UnsupportedOperator } from './load-failure.ts';
import type { Dim, ModelReport, ValueReport } from './model-report.ts';

export type TensorSummary = { name: string; datatype: KServeDatatype; shape: number[] };

export type CheckReport = {
  file: string;
  fileBytes: number;
  /** The file's SHA-256 (hex): the fingerprint a worker reports for it. */
  sha256: string | null;
  ok: boolean;
  /** Why it failed, on one line; null when it passed. */
  reason: string | null;
  /** The onnxruntime-node version that loaded (or refused) it. */
  runtime: string;
  model: ModelReport | null;
  load: { ok: boolean; unsupportedOperators: UnsupportedOperator[] } | null;
  run: { sample: string; ok: boolean; inputs: TensorSummary[]; outputs: TensorSummary[] } | null;
  comparison: Comparison | null;
};

/** The report as text: one section per stage reached, then PASS or FAIL with the reason. */
export function renderCheckReport(report: CheckReport): string {
  const lines = [`${report.file} (${formatBytes(report.fileBytes)})`];
  const { model, load, run, comparison } = report;
  if (model) {
    lines.push(`  IR version ${model.irVersion}${model.producer ? `, produced by ${model.producer}` : ''}`);
    lines.push(`  opsets: ${model.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`);
    lines.push('  inputs:', ...model.inputs.map(valueLine), '  outputs:', ...model.outputs.map(valueLine));
    const nodes = model.operators.reduce((sum, o) => sum + o.count, 0);
    lines.push(`  operators (${model.operators.length} types, ${nodes} nodes): ${model.operators.map((o) => `${o.domain === 'ai.onnx' ? '' : `${o.domain}:`}${o.opType} ×${o.count}`).join(', ')}`);
    const { count, totalBytes, largest } = model.initializers;
    lines.push(`  initializers: ${count}, ${formatBytes(totalBytes)}${largest.length > 0 ? '; largest:' : ''}`);
    for (const i of largest) lines.push(`    ${i.name} ${i.onnxType} [${i.shape.join(',')}] ${formatBytes(i.bytes)}${i.external ? ' (external data)' : ''}`);
  }
  if (load) {
    const missing = load.unsupportedOperators.map((o) => `${o.domain ?? '?'}:${o.opType}${o.opsetVersion === null ? '' : `(${o.opsetVersion})`}${o.node ? ` in node ${JSON.stringify(o.node)}` : ''}`);
    lines.push(`  onnxruntime-node ${report.runtime}: ${load.ok ? 'loads it' : 'cannot load it'}${missing.length > 0 ? `; unsupported operators: ${missing.join(', ')}` : ''}`);
  }
  if (run) {
    const tensors = (list: readonly TensorSummary[]) => list.map((t) => `${t.name} ${t.datatype} [${t.shape.join(',')}]`).join(', ');
    lines.push(`  run: ${run.sample}: ${tensors(run.inputs)}${run.ok ? ` → ${tensors(run.outputs)}` : ' failed'}`);
  }
  if (comparison) {
    lines.push(`  compared with expected outputs (absolute tolerance ${comparison.toleranceAbs}):`);
    for (const o of comparison.outputs) {
      lines.push(`    ${o.name}: ${o.elements} elements, max |error| ${o.maxAbsError ?? 'n/a'}${o.mismatches > 0 ? `, ${o.mismatches} beyond tolerance` : ''}`);
    }
  }
  lines.push(report.ok ? 'PASS' : `FAIL: ${report.reason}`);
  return `${lines.join('\n')}\n`;
}

function valueLine(value: ValueReport): string {
  const type = value.datatype ?? (value.kind === 'tensor' ? `${value.onnxType} (no KServe datatype)` : value.kind);
  return `    ${value.name} ${type} ${value.shape ? `[${value.shape.map(dimText).join(', ')}]` : '(rank unknown)'}`;
}

/** A fixed size as its number, a named dynamic axis by its name, an unnamed one as '?'. */
function dimText(dim: Dim): string {
  return dim === null ? '?' : String(dim);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
