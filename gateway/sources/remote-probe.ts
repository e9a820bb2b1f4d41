// How the sources of workers the gateway does not run (static list,
// discovery) bring a replica up and back: probe it until it is ready, with no
// deadline (a worker on another host may be down for long), and put one that
// failed its health checks back to probing until it answers again.

import type { Logger } from '../../common/logger.ts';
import type { WorkerModelsBody } from '../../common/wire.ts';
import { probeUntilReady } from '../replicas/readiness-probe.ts';
import type { Replica } from '../replicas/replica.ts';

export type RemoteProbeSettings = {
  /** Between two unanswered readiness checks. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  acceptReport?: (replica: Replica, report: WorkerModelsBody) => void;
  now: () => number;
  logger: Logger;
};

/** Probes until ready, for as long as the source still wants this replica (and its process generation is the same). */
export async function probeRemote(replica: Replica, settings: RemoteProbeSettings, wanted: () => boolean): Promise<void> {
  const generation = replica.generation;
  await probeUntilReady(replica, {
    intervalMs: settings.probeIntervalMs,
    callTimeoutMs: settings.probeTimeoutMs,
    deadlineMs: undefined,
    now: settings.now,
    stillWanted: () => wanted() && replica.generation === generation && replica.state === 'starting',
    ...(settings.acceptReport ? { acceptReport: settings.acceptReport } : {}),
    logger: settings.logger,
  });
}

/** A ready replica presumed hung: out of rotation, and probed again (`probe`) until it answers. */
export function reprobe(replica: Replica, reason: string, logger: Logger, probe: (replica: Replica) => void): void {
  logger.warn({ replica: replica.id, reason }, 'remote replica out of rotation until it answers its readiness check again');
  replica.transition('exit');
  replica.transition('restart');
  probe(replica);
}
