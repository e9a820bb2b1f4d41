// Brings a starting replica into rotation, the same way for every source:
// ask its readiness check until it answers 200 (its models loaded and warmed
// up, or found unavailable), read what it loaded (GET /models), hand that
// report over, and mark the replica ready. The source decides how long to
// wait and what to do when the replica never gets there (the supervisor
// kills a local worker; a static list keeps asking a remote one).

import type { Logger } from '../../common/logger.ts';
import type { WorkerModelsBody } from '../../common/wire.ts';
import type { Replica } from './replica.ts';

export type ProbeSettings = {
  /** Between two unanswered checks. */
  intervalMs: number;
  /** One readiness check or /models call fails after this long. */
  callTimeoutMs: number;
  /** Give up when now() passes this; undefined: never. */
  deadlineMs: number | undefined;
  now: () => number;
  /** False once the process probed is gone or replaced, or its source is closing: the probe then stops. */
  stillWanted: () => boolean;
  /** Takes the replica's report before it turns ready (default: replica.setReport). */
  acceptReport?: (replica: Replica, report: WorkerModelsBody) => void;
  logger: Logger;
};

export type ProbeOutcome = 'ready' | 'abandoned' | 'timed-out';

/** Probes until the replica is ready (and marks it so), the source abandons it, or the deadline passes. */
export async function probeUntilReady(replica: Replica, settings: ProbeSettings): Promise<ProbeOutcome> {
  const { now, stillWanted } = settings;
  while (stillWanted()) {
    if (settings.deadlineMs !== undefined && now() > settings.deadlineMs) return 'timed-out';
    if (await replica.client.isReady(settings.callTimeoutMs)) {
      let report: WorkerModelsBody | undefined;
      try {
        report = await replica.client.models(settings.callTimeoutMs);
      } catch (err) {
        settings.logger.warn({ replica: replica.id, err }, 'replica ready but its /models failed');
      }
      if (!stillWanted()) return 'abandoned';
      if (report) {
        if (settings.acceptReport) settings.acceptReport(replica, report);
        else replica.setReport(report);
        replica.transition('ready');
        return 'ready';
      }
    }
    await delay(settings.intervalMs);
  }
  return 'abandoned';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
