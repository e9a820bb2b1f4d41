// The --baseline checkout: another checkout of this repository whose gateway
// runs as the system `baseline` (systems.ts), for an A/B of the gateway
// against an earlier revision in one run. Checked before anything starts,
// and named with its commit in the report's notes.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { machineFacts } from './machine.ts';
import type { SystemName } from './systems.ts';

/** Why `dir` cannot provide the baseline gateway, or null. */
export function baselineProblem(dir: string): string | null {
  if (!existsSync(join(dir, 'bin', 'infergate.ts'))) return `--baseline ${dir} is not a checkout of infergate (no bin/infergate.ts there)`;
  if (!existsSync(join(dir, 'node_modules'))) return `--baseline ${dir} has no node_modules (run npm ci there, or link this checkout's: ln -s "$PWD/node_modules" ${join(dir, 'node_modules')})`;
  return null;
}

/** The report's note naming the baseline: its directory and commit. */
export function baselineNote(dir: string): string {
  const { gitCommit, gitDirty } = machineFacts(dir);
  const commit = gitCommit === null ? 'unknown commit' : `commit ${gitCommit.slice(0, 10)}${gitDirty ? ' (with uncommitted changes)' : ''}`;
  return `baseline: the gateway from ${dir}, ${commit}`;
}

/** Whether a scenario that supports it compares gateway and baseline in paired rounds. */
export function comparesWithBaseline(systems: readonly SystemName[]): boolean {
  return systems.includes('gateway') && systems.includes('baseline');
}
