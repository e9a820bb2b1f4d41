// One process's numbers from /proc (Linux), for scenarios and tests that
// watch a gateway from outside it: its memory and the CPU it used.

import { readFileSync } from 'node:fs';

/** A memory field of /proc/<pid>/status in bytes: VmRSS (resident now) or VmHWM (the peak so far). */
export function processMemoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** CPU seconds a process used so far: utime + stime, fields 14 and 15 of /proc/<pid>/stat (counted after the ") " ending its name). */
export function processCpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
