// Facts about the machine and checkout a result came from, recorded with
// every report so numbers are never quoted without their context.

import { execFileSync } from 'node:child_process';
import { cpus, hostname, loadavg, platform, release, totalmem } from 'node:os';
import type { MachineFacts } from './results.ts';

export function machineFacts(repoDir: string): MachineFacts {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git('rev-parse', 'HEAD');
  const status = commit === null ? null : git('status', '--porcelain', '--untracked-files=no');
  const cpuList = cpus();
  return {
    hostname: hostname(),
    platform: `${platform()} ${release()}`,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    gitCommit: commit,
    gitDirty: status === null ? null : status.length > 0,
  };
}
