// An optimization report (report.ts) as the files written beside the new
// model: report.md for people, report.json for machines (a rollout takes its
// agreement thresholds from it), and two SVG charts the Markdown shows. Pure.

import type { BarChartSpec } from '../../common/charts/chart-spec.ts';
import { renderChart } from '../../common/charts/render-chart.ts';
import type { OutputAccuracy } from '../../common/onnx/output-accuracy.ts';
import type { OptimizationReport } from './report.ts';

export const REPORT_FILES = { markdown: 'report.md', json: 'report.json', speedChart: 'report-speed.svg', accuracyChart: 'report-accuracy.svg' } as const;

/** File name → content, for the version directory. */
export function renderReport(report: OptimizationReport): Record<string, string> {
  return {
    [REPORT_FILES.markdown]: markdown(report),
    [REPORT_FILES.json]: `${JSON.stringify(report, null, 2)}\n`,
    [REPORT_FILES.speedChart]: renderChart(speedChart(report)),
    [REPORT_FILES.accuracyChart]: renderChart(accuracyChart(report)),
  };
}

function markdown(report: OptimizationReport): string {
  const { model, mode, source, made, machine, samples, speed } = report;
  const was = `version ${source.version}`;
  const now = `version ${made.version}`;
  const lines = [
    `# ${model} ${now}: \`--to ${mode}\` of ${was}`,
    '',
    `Made by \`infergate optimize ${model} --version ${source.version} --to ${mode}\`, and measured against ${was} in one process: onnxruntime-node ${machine.onnxruntime}, Node ${machine.node}, ${machine.cpu} (${machine.cores} cores).`,
    '',
    '## Accuracy',
    '',
    `On ${samples.description}, every output of ${now} against ${was}'s:`,
    '',
    '| output | elements | max abs error | mean abs error | cosine similarity | top-1 agreement |',
    '|---|---:|---:|---:|---:|---:|',
    ...report.accuracy.map(accuracyRow),
    '',
    'Errors are |new − source| per element; "of range" divides by the largest |value| the source gave for that output. Top-1 agreement is read for classifier-like outputs (rank 2, floating point, at least two columns): the share of rows whose largest column is the same.',
    '',
    `![accuracy](${REPORT_FILES.accuracyChart})`,
    '',
    '## Speed',
    '',
    `Rows per second in this process, one intra-op thread per session, the median of ${speed.rounds} interleaved rounds of ${speed.roundMs} ms (the ratio is the median of the ratios within each round). This machine's figures on the day: compare the ratios.`,
    '',
    `| batch | ${was} rows/s | ${now} rows/s | × ${was} |`,
    '|---:|---:|---:|---:|',
    ...speed.batches.map((row) => ('fixedBatch' in row ? `| ${row.batch} | the model's batch axis is fixed | | |` : `| ${row.batch} | ${Math.round(row.sourceRowsPerS)} | ${Math.round(row.newRowsPerS)} | ${row.ratio.toFixed(2)} |`)),
    '',
    `![speed](${REPORT_FILES.speedChart})`,
    '',
    '## Size',
    '',
    `| model.onnx | ${was} | ${now} | ${now} / ${was} |`,
    '|---|---:|---:|---:|',
    `| bytes | ${source.bytes} | ${made.bytes} | ${(made.bytes / source.bytes).toFixed(3)} |`,
    '',
    '## Rollout gate',
    '',
    ...gateSection(report),
    '',
  ];
  return lines.join('\n');
}

function accuracyRow(output: OutputAccuracy): string {
  const ofRange = (error: number | null) => (error === null ? 'not numeric' : output.sourceMaxAbs > 0 && error > 0 ? `${sci(error)} (${percent(error / output.sourceMaxAbs, 3)} of range)` : sci(error));
  const cosine = output.cosineSimilarity === null ? '' : output.cosineSimilarity.toFixed(6);
  const top1 = output.top1 === null ? '' : `${percent(output.top1.agreeing / output.top1.rows, 2)} (${output.top1.agreeing} of ${output.top1.rows} rows)`;
  const mismatched = output.mismatches > 0 ? `, ${output.mismatches} differ` : '';
  return `| ${output.name} | ${output.elements}${mismatched} | ${ofRange(output.maxAbsError)} | ${ofRange(output.meanAbsError)} | ${cosine} | ${top1} |`;
}

function gateSection(report: OptimizationReport): string[] {
  const { gate, model } = report;
  if ('reason' in gate) return [`No agreement gate can judge this version: ${gate.reason}.`];
  return [
    `\`--rollout\` starts the rollout of version ${report.made.version} against the stable version with these agreement thresholds (POST /admin/models/${model}/rollouts, \`gates.agreement\`):`,
    '',
    '```json',
    JSON.stringify({ agreement: gate }),
    '```',
    '',
    '- `maxAbsDiff`: twice the largest max abs error above (live inputs reach past the samples), rounded up, and at least 1e-5.',
    '- `minArgmaxAgreement`: the top-1 agreement above less one point (read only when the model has a classifier-like output).',
    '- `minComparisons`: enough shadowed answers that a version as good as on these samples reads above `minArgmaxAgreement` by three standard errors.',
  ];
}

function speedChart(report: OptimizationReport): BarChartSpec {
  const measured = report.speed.batches.filter((row) => !('fixedBatch' in row)) as Array<{ batch: number; sourceRowsPerS: number; newRowsPerS: number }>;
  return {
    kind: 'bars',
    file: REPORT_FILES.speedChart,
    title: `${report.model}: rows/s, version ${report.source.version} and its ${report.mode} version ${report.made.version}`,
    subtitle: `one intra-op thread, median of ${report.speed.rounds} interleaved rounds; ${report.machine.cpu}`,
    xLabel: 'batch size',
    yLabel: 'rows per second',
    categories: measured.map((row) => `batch ${row.batch}`),
    series: [
      { name: `version ${report.source.version} (${report.source.bytes} B)`, values: measured.map((row) => Math.round(row.sourceRowsPerS)) },
      { name: `version ${report.made.version} (${report.made.bytes} B)`, values: measured.map((row) => Math.round(row.newRowsPerS)) },
    ],
  };
}

function accuracyChart(report: OptimizationReport): BarChartSpec {
  const ofRange = (output: OutputAccuracy, error: number | null) => (error === null || output.sourceMaxAbs === 0 ? null : (100 * error) / output.sourceMaxAbs);
  return {
    kind: 'bars',
    file: REPORT_FILES.accuracyChart,
    title: `${report.model}: version ${report.made.version} (${report.mode}) against version ${report.source.version}`,
    subtitle: `${report.samples.description}; lower is better`,
    xLabel: 'output',
    yLabel: '% (of the output’s largest |value|, or of rows)',
    categories: report.accuracy.map((output) => output.name),
    series: [
      { name: 'max |error|', values: report.accuracy.map((output) => ofRange(output, output.maxAbsError)) },
      { name: 'mean |error|', values: report.accuracy.map((output) => ofRange(output, output.meanAbsError)) },
      { name: 'top-1 disagreement', values: report.accuracy.map((output) => (output.top1 === null ? null : (100 * (output.top1.rows - output.top1.agreeing)) / output.top1.rows)) },
    ],
  };
}

function sci(value: number): string {
  return value === 0 ? '0' : Number.isFinite(value) ? value.toExponential(2) : String(value);
}

function percent(ratio: number, digits: number): string {
  return `${(ratio * 100).toFixed(digits)} %`;
}
