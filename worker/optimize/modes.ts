// The optimization modes of `infergate optimize --to <mode>`, one entry each.
// A mode only turns the source model into new bytes; the command
// (optimize.ts) does the rest for every mode alike:
//
//   source bytes ─▶ mode.transform ─▶ new bytes + notes
//        └────────────── verify (seeded random samples, within mode.tolerance) ──▶ new version dir + optimization.json
//
// Adding a mode is one entry here and one file for its transform. A
// mode with command-line settings (fp16's --fp16-activations, int8's --per-tensor) is made from
// ModeSettings; the CLI builds the table from its flags.

import { fp16Mode } from './fp16-mode.ts';
import { graphMode } from './graph-mode.ts';
import { int8Mode } from './int8-mode.ts';
import type { OptimizeMode } from './optimize-mode.ts';

export type { ModeResult, OptimizeMode, SourceModel, Tolerance } from './optimize-mode.ts';

export type ModeSettings = {
  /** --fp16-activations (default on). */
  fp16Activations: boolean;
  /** --per-tensor (default off): int8 weights with one scale per weight instead of per output channel. */
  int8PerTensor: boolean;
};

export const DEFAULT_MODE_SETTINGS: ModeSettings = { fp16Activations: true, int8PerTensor: false };

/** Settings not given take their defaults (DEFAULT_MODE_SETTINGS). */
export function optimizeModes(given: Partial<ModeSettings> = {}): Readonly<Record<string, OptimizeMode>> {
  const settings = { ...DEFAULT_MODE_SETTINGS, ...given };
  return {
    graph: graphMode,
    fp16: fp16Mode({ activations: settings.fp16Activations }),
    int8: int8Mode({ perChannel: !settings.int8PerTensor }),
  };
}

export const OPTIMIZE_MODES: Readonly<Record<string, OptimizeMode>> = optimizeModes();

export function modeNames(): string[] {
  return Object.keys(OPTIMIZE_MODES);
}
