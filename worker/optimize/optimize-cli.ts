// `infergate optimize MODEL --version N --to MODE [--models DIR] [--out-version M] [--[no-]fp16-activations] [--per-tensor]`:
// the flags, the command (optimize.ts), and what it wrote, printed. Exit
// codes: 0 written, 1 refused or failed (the reason on one line on stderr;
// nothing written), 2 a command-line mistake.

import { parseArgs } from 'node:util';
import { isVersionName } from '../../common/model-repository.ts';
import { modeNames, optimizeModes } from './modes.ts';
import { describeTolerance } from './optimize-mode.ts';
import { optimize, OptimizeError, type Optimized } from './optimize.ts';

export const OPTIMIZE_USAGE = `usage: infergate optimize MODEL --version N --to <${modeNames().join('|')}> [--models dir] [--out-version M] [--[no-]fp16-activations] [--per-tensor]\n`;

type Write = (text: string) => void;

/** Optimizes the version the arguments name into a new version; answers the process exit code. */
export async function runOptimize(argv: readonly string[], out: Write, err: Write): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      allowNegative: true,
      options: {
        version: { type: 'string' },
        to: { type: 'string' },
        models: { type: 'string', default: 'models' },
        'out-version': { type: 'string' },
        'fp16-activations': { type: 'boolean' },
        'per-tensor': { type: 'boolean' },
      },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${OPTIMIZE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const activations = values['fp16-activations'];
  const perTensor = values['per-tensor'];
  const mistake =
    usageMistake(positionals, values.version, values.to) ??
    (activations !== undefined && values.to !== 'fp16' ? '--[no-]fp16-activations is for --to fp16' : null) ??
    (perTensor !== undefined && values.to !== 'int8' ? '--per-tensor is for --to int8' : null);
  if (mistake !== null) {
    err(`infergate optimize: ${mistake}\n${OPTIMIZE_USAGE}`);
    return 2;
  }
  try {
    const done = await optimize(
      {
        repository: values.models,
        model: positionals[0]!,
        version: values.version!,
        mode: values.to!,
        ...(values['out-version'] !== undefined ? { outVersion: values['out-version'] } : {}),
      },
      optimizeModes({ fp16Activations: activations ?? true, int8PerTensor: perTensor ?? false }),
    );
    out(renderOptimized(done));
    return 0;
  } catch (e) {
    if (!(e instanceof OptimizeError)) throw e;
    err(`infergate optimize: ${e.message}\n`);
    return 1;
  }
}

/** What is wrong with the command line itself (before any file is read); null when nothing is. */
export function usageMistake(positionals: readonly string[], version: string | undefined, to: string | undefined): string | null {
  if (positionals.length !== 1) return `give one MODEL (got ${positionals.length})`;
  if (version === undefined) return '--version N is required (the source version)';
  if (!isVersionName(version)) return `--version ${JSON.stringify(version)} is not a version (a positive integer)`;
  if (to === undefined) return `--to is required (${modeNames().join(', ')})`;
  if (!modeNames().includes(to)) return `--to ${JSON.stringify(to)}: no such mode (${modeNames().join(', ')})`;
  return null;
}

export function renderOptimized(done: Optimized): string {
  const ofRange = (name: string) => ('ofOutputRange' in done.tolerance ? ` (${done.maxErrorOfOutputRange[name]?.toPrecision(2)} of its range)` : '');
  const errors = Object.entries(done.maxAbsError).map(([name, error]) => `${name} ${error === null ? 'not numeric' : `${error}${ofRange(name)}`}`);
  return [
    `wrote ${done.modelPath} (${done.output.bytes} bytes; source ${done.source.bytes} bytes)`,
    `wrote ${done.recordPath}`,
    `max |new − source| over ${done.samples} seeded random samples: ${errors.join(', ')} (tolerance ${describeTolerance(done.tolerance)})`,
    ...done.notes.map((note) => `note: ${note}`),
    '',
  ].join('\n');
}
