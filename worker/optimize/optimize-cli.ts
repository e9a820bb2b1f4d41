// `infergate optimize MODEL --version N --to MODE …`: the flags, the command
// (optimize.ts), what it wrote, printed, and with --rollout the rollout it
// started (start-rollout.ts). Exit codes: 0 written (and, with --wait,
// promoted), 1 refused or failed (the reason on one line on stderr; nothing
// written), or a rollout that did not start or rolled back, 2 a command-line
// mistake.

import { parseArgs } from 'node:util';
import { isVersionName } from '../../common/model-repository.ts';
import { modeNames, optimizeModes } from './modes.ts';
import { describeTolerance } from './optimize-mode.ts';
import { optimize, OptimizeError, type Optimized } from './optimize.ts';
import { DEFAULT_REPORT_OPTIONS, type ReportOptions } from './report.ts';
import { followRollout, rolloutPlan, RolloutStartError, startRollout, type RolloutSummary, type RolloutTarget } from './start-rollout.ts';

export const OPTIMIZE_USAGE = [
  `usage: infergate optimize MODEL --version N --to <${modeNames().join('|')}> [--models dir] [--out-version M] [--[no-]fp16-activations] [--per-tensor]`,
  '         [--samples N | --sample-file requests.json] [--speed-rounds N] [--speed-round-ms MS] [--no-report]',
  '         [--rollout [--gateway URL] [--rollout-plan plan.json] [--wait]]',
  '',
].join('\n');

const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8000';
const ROLLOUT_POLL_MS = 500;

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
        report: { type: 'boolean', default: true },
        samples: { type: 'string' },
        'sample-file': { type: 'string' },
        'speed-rounds': { type: 'string' },
        'speed-round-ms': { type: 'string' },
        rollout: { type: 'boolean', default: false },
        gateway: { type: 'string', default: DEFAULT_GATEWAY_URL },
        'rollout-plan': { type: 'string' },
        wait: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${OPTIMIZE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const activations = values['fp16-activations'];
  const perTensor = values['per-tensor'];
  const report = reportOptions(values);
  const mistake =
    usageMistake(positionals, values.version, values.to) ??
    (activations !== undefined && values.to !== 'fp16' ? '--[no-]fp16-activations is for --to fp16' : null) ??
    (perTensor !== undefined && values.to !== 'int8' ? '--per-tensor is for --to int8' : null) ??
    ('mistake' in report ? report.mistake : null) ??
    rolloutMistake(values);
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
        ...('options' in report && report.options !== null ? { report: report.options } : {}),
      },
      optimizeModes({ fp16Activations: activations ?? true, int8PerTensor: perTensor ?? false }),
    );
    out(renderOptimized(done));
    if (!values.rollout) return 0;
    const target: RolloutTarget = { gatewayUrl: values.gateway, adminToken: process.env.INFERGATE_ADMIN_TOKEN || undefined, model: positionals[0]! };
    return await rollOut(target, done, values['rollout-plan'], values.wait, out, err);
  } catch (e) {
    if (!(e instanceof OptimizeError)) throw e;
    err(`infergate optimize: ${e.message}\n`);
    return 1;
  }
}

/** Starts the rollout of what optimize wrote, and with `wait` follows it; answers the exit code. */
async function rollOut(target: RolloutTarget, done: Optimized, planPath: string | undefined, wait: boolean, out: Write, err: Write): Promise<number> {
  const gate = done.report!.gate;
  if ('reason' in gate) {
    err(`infergate optimize: no rollout: ${gate.reason} (version ${done.version} is written)\n`);
    return 1;
  }
  try {
    const started = await startRollout(target, await rolloutPlan(planPath, done.version, gate));
    out(`rollout of ${target.model} version ${started.candidate} against stable version ${started.stable} started at ${target.gatewayUrl} (agreement gate ${JSON.stringify(gate)})\n`);
    if (started.stable !== done.report!.source.version) {
      out(`note: the report measured version ${done.version} against version ${done.report!.source.version}; the gate compares it with the stable version ${started.stable}\n`);
    }
    if (!wait) return 0;
    const ended = await followRollout(target, ROLLOUT_POLL_MS, (status) => out(`rollout: ${describeStatus(status)}\n`));
    if (ended.state === 'promoted') return 0;
    err(`infergate optimize: the rollout rolled back: ${ended.reason ?? 'no reason given'}\n`);
    return 1;
  } catch (e) {
    if (!(e instanceof RolloutStartError)) throw e;
    err(`infergate optimize: no rollout (version ${done.version} is written): ${e.message}\n`);
    return 1;
  }
}

function describeStatus(status: RolloutSummary): string {
  const stage = status.state === 'canary' && status.stage ? ` ${status.stage.percent} %` : '';
  return `${status.state}${stage}${status.paused ? ` (paused: ${status.paused})` : ''}`;
}

type ReportFlags = { report: boolean; samples?: string; 'sample-file'?: string; 'speed-rounds'?: string; 'speed-round-ms'?: string };

/** The report's options from the flags (null with --no-report), or what is wrong with them. */
function reportOptions(values: ReportFlags): { options: ReportOptions | null } | { mistake: string } {
  const given = (['samples', 'sample-file', 'speed-rounds', 'speed-round-ms'] as const).filter((flag) => values[flag] !== undefined);
  if (!values.report) return given.length > 0 ? { mistake: `--${given[0]} is for the report, and --no-report turns it off` } : { options: null };
  if (values.samples !== undefined && values['sample-file'] !== undefined) return { mistake: 'give --samples N or --sample-file F, not both' };
  const whole = (flag: 'samples' | 'speed-rounds' | 'speed-round-ms', fallback: number, max: number): number | string => {
    const text = values[flag];
    if (text === undefined) return fallback;
    const n = Number(text);
    return /^\d+$/.test(text) && n >= 1 && n <= max ? n : `--${flag} ${JSON.stringify(text)} is not a whole number from 1 to ${max}`;
  };
  const defaults = DEFAULT_REPORT_OPTIONS;
  const rows = whole('samples', defaults.samples.kind === 'random' ? defaults.samples.rows : 1, 10_000_000);
  const rounds = whole('speed-rounds', defaults.speed.rounds, 1000);
  const roundMs = whole('speed-round-ms', defaults.speed.roundMs, 600_000);
  const bad = [rows, rounds, roundMs].find((value) => typeof value === 'string');
  if (bad !== undefined) return { mistake: bad as string };
  const file = values['sample-file'];
  return {
    options: {
      samples: file !== undefined ? { kind: 'file', path: file } : { kind: 'random', rows: rows as number },
      speed: { batches: defaults.speed.batches, rounds: rounds as number, roundMs: roundMs as number },
    },
  };
}

/** --rollout needs the report (its thresholds); its companions need --rollout. */
function rolloutMistake(values: { rollout: boolean; report: boolean; gateway: string; 'rollout-plan'?: string; wait: boolean }): string | null {
  if (!values.rollout) {
    if (values['rollout-plan'] !== undefined) return '--rollout-plan is for --rollout';
    if (values.wait) return '--wait is for --rollout';
    if (values.gateway !== DEFAULT_GATEWAY_URL) return '--gateway is for --rollout';
    return null;
  }
  if (!values.report) return '--rollout takes its agreement thresholds from the report: drop --no-report';
  if (!URL.canParse(values.gateway) || !/^https?:$/.test(new URL(values.gateway).protocol)) return `--gateway ${JSON.stringify(values.gateway)} is not an http(s) URL`;
  return null;
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
    ...(done.report === undefined ? [] : [`wrote ${done.reportPath} (${reportSummary(done)})`]),
    '',
  ].join('\n');
}

/** The report's headline: top-1 agreement where there is one, and speed and size against the source. */
function reportSummary(done: Optimized): string {
  const report = done.report!;
  const top1 = report.accuracy.filter((output) => output.top1 !== null && output.top1.rows > 0).map((output) => `${output.name} top-1 agreement ${((100 * output.top1!.agreeing) / output.top1!.rows).toFixed(2)} %`);
  const speed = report.speed.batches.map((row) => ('fixedBatch' in row ? `batch ${row.batch}: fixed batch axis` : `${row.ratio.toFixed(2)}× rows/s at batch ${row.batch}`));
  return [...top1, ...speed, `${(report.made.bytes / report.source.bytes).toFixed(3)}× the bytes`].join(', ');
}
