// CPU accounting per role (load generator, gateway, workers, nginx, …) over
// a run, from /proc/<pid>/stat (Linux; elsewhere nothing is recorded). When
// load generator and systems share a few cores, req/s alone confounds "this
// system is slow" with "this system got fewer cores"; CPU µs per request
// does not.
//
// A system names its root processes and a role for each; descendants of a
// root (a gateway's workers, nginx's worker process) get the root's
// childRole, except those whose command line shows they run the root's own
// program (a gateway's front processes, server.processes > 1), which keep
// the root's role. Samples are taken before and after a run; the
// difference is the run's CPU.

import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { RunCpu } from './results.ts';

const cores = availableParallelism();

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux build. */
const TICKS_PER_S = 100;

export type ProcessRoot = {
  role: string;
  pid: number;
  /** Role of its descendants (default: role). */
  childRole?: string;
  /** Descendants whose command line (arguments joined by spaces) contains this keep `role`: they are more of the root, not its children's kind. */
  peerCmdline?: string;
};

/** The role a descendant of `root` counts as, given its command line (null: unreadable, e.g. it exited). */
export function descendantRole(root: ProcessRoot, cmdline: string | null): string {
  if (root.peerCmdline !== undefined && cmdline !== null && cmdline.includes(root.peerCmdline)) return root.role;
  return root.childRole ?? root.role;
}

export type CpuSample = { atMs: number; generator: NodeJS.CpuUsage; ticksByRole: Map<string, number>; machine: { busyTicks: number; totalTicks: number } | null };

/** Whole-machine busy and total ticks from /proc/stat (steal counts as busy: those cycles were not ours). */
function readMachineTicks(): { busyTicks: number; totalTicks: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...values] = line.trim().split(/\s+/);
    const n = values.slice(0, 8).map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    return { busyTicks: total - idle, totalTicks: total };
  } catch {
    return null;
  }
}

type ProcStat = { pid: number; ppid: number; ticks: number };

function readProcStats(): ProcStat[] | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const stats: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid … utime stime …": comm may hold spaces and parentheses.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.push({ pid: Number(entry), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited while we looked
    }
  }
  return stats;
}

/** /proc/<pid>/cmdline as one line: its NUL-separated arguments joined by spaces. */
function readCmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

export function sampleCpu(roots: readonly ProcessRoot[]): CpuSample | null {
  const stats = readProcStats();
  if (stats === null) return null;
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const ticksByRole = new Map<string, number>();
  const add = (role: string, ticks: number): void => void ticksByRole.set(role, (ticksByRole.get(role) ?? 0) + ticks);
  for (const root of roots) {
    const self = byPid.get(root.pid);
    if (!self) continue;
    add(root.role, self.ticks);
    const stack = [...(children.get(root.pid) ?? [])];
    while (stack.length > 0) {
      const s = stack.pop()!;
      // Only roots that classify their descendants pay for reading command lines.
      add(descendantRole(root, root.peerCmdline === undefined ? null : readCmdline(s.pid)), s.ticks);
      stack.push(...(children.get(s.pid) ?? []));
    }
  }
  return { atMs: performance.now(), generator: process.cpuUsage(), ticksByRole, machine: readMachineTicks() };
}

/** CPU between two samples, as % of one core and µs per answered request, by role. */
export function cpuBetween(before: CpuSample | null, after: CpuSample | null, responses: number): RunCpu | undefined {
  if (!before || !after) return undefined;
  const seconds = (after.atMs - before.atMs) / 1000;
  if (!(seconds > 0)) return undefined;
  const generatorS = (after.generator.user + after.generator.system - before.generator.user - before.generator.system) / 1e6;
  const cpuS: Record<string, number> = { 'load generator': generatorS };
  for (const [role, ticks] of after.ticksByRole) cpuS[role] = (cpuS[role] ?? 0) + (ticks - (before.ticksByRole.get(role) ?? 0)) / TICKS_PER_S;
  const percentOfCore: Record<string, number> = {};
  const usPerRequest: Record<string, number> = {};
  for (const [role, s] of Object.entries(cpuS)) {
    percentOfCore[role] = Math.round((s / seconds) * 1000) / 10;
    usPerRequest[role] = responses > 0 ? Math.round((s / responses) * 1e7) / 10 : 0;
  }
  const result: RunCpu = { seconds, percentOfCore, usPerRequest };
  if (before.machine && after.machine && after.machine.totalTicks > before.machine.totalTicks) {
    // Busy share of all cores, in "% of one core" units (2 cores fully busy = 200).
    const busyCores = ((after.machine.busyTicks - before.machine.busyTicks) / (after.machine.totalTicks - before.machine.totalTicks)) * cores;
    const ours = Object.values(cpuS).reduce((a, b) => a + b, 0) / seconds;
    result.otherPercentOfCore = Math.max(0, Math.round((busyCores - ours) * 1000) / 10);
  }
  return result;
}
