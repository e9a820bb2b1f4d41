// The optimization modes of `infergate optimize --to <mode>`, one entry each.
// A mode only turns the source model into new bytes; the command
// (optimize.ts) does the rest for every mode alike:
//
//   source bytes ─▶ mode.transform ─▶ new bytes + notes
//        └────────────── verify (seeded random samples, ≤ mode.toleranceAbs) ──▶ new version dir + optimization.json
//
// Adding a mode (fp16, int8) is one entry here and one file for its transform.

import { graphMode } from './graph-mode.ts';
import type { OptimizeMode } from './optimize-mode.ts';

export type { ModeResult, OptimizeMode, SourceModel } from './optimize-mode.ts';

export const OPTIMIZE_MODES: Readonly<Record<string, OptimizeMode>> = {
  graph: graphMode,
};

export function modeNames(): string[] {
  return Object.keys(OPTIMIZE_MODES);
}
