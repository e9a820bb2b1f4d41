// `infergate check-model PATH [--sample request.json] [--expected outputs.json] [--tolerance 1e-4] [--json]`:
// the flags, the check (check-model.ts), and the report printed as text or as
// one JSON object. Exit codes: 0 the model passed, 1 it failed (the reason on
// one line, on stderr and at the end of the text report), 2 a command-line
// mistake.

import { parseArgs } from 'node:util';
import { renderCheckReport } from '../common/onnx/check-report.ts';
import { DEFAULT_TOLERANCE_ABS } from '../common/onnx/compare-outputs.ts';
import { checkModel } from './check-model.ts';

export const CHECK_MODEL_USAGE = 'usage: infergate check-model PATH [--sample request.json] [--expected outputs.json] [--tolerance 1e-4] [--json]\n';

type Write = (text: string) => void;

/** Checks the model the arguments name, prints the report; answers the process exit code. */
export async function runCheckModel(argv: readonly string[], out: Write, err: Write): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { sample: { type: 'string' }, expected: { type: 'string' }, tolerance: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${CHECK_MODEL_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    err(CHECK_MODEL_USAGE);
    return 2;
  }
  const toleranceAbs = values.tolerance === undefined ? DEFAULT_TOLERANCE_ABS : Number(values.tolerance);
  if (values.tolerance?.trim() === '' || !Number.isFinite(toleranceAbs) || toleranceAbs < 0) {
    err(`--tolerance must be a number ≥ 0 (an absolute error), not ${JSON.stringify(values.tolerance)}\n${CHECK_MODEL_USAGE}`);
    return 2;
  }
  const report = await checkModel(positionals[0]!, {
    toleranceAbs,
    ...(values.sample !== undefined ? { samplePath: values.sample } : {}),
    ...(values.expected !== undefined ? { expectedPath: values.expected } : {}),
  });
  out(values.json ? `${JSON.stringify(report)}\n` : renderCheckReport(report));
  if (!report.ok) err(`infergate check-model: ${report.reason}\n`);
  return report.ok ? 0 : 1;
}
