// The log line of each frame a worker ran: at debug level when it answered
// (request ids, model, version, rows, where the time went), at warn when it
// failed (request ids and the error's code). Request ids are the gateway's,
// so a request's lines in the gateway and in the worker can be joined. Never
// tensor data, nor an error's message, which may quote it.

import type { Logger } from '../common/logger.ts';
import type { RunRecord } from './run-record.ts';

export function runLog(logger: Logger): (run: RunRecord) => void {
  return (run) => {
    if (run.error) {
      logger.warn({ requestIds: requestIds(run), model: run.model, version: run.version, rows: run.rows, code: run.error.code }, 'run failed');
      return;
    }
    // Checked first: a run at info level must not even build the line's fields.
    if (!logger.isLevelEnabled('debug')) return;
    logger.debug({ requestIds: requestIds(run), model: run.model, version: run.version, rows: run.rows, timing: run.timing }, 'run');
  };
}

function requestIds(run: RunRecord): string[] {
  return run.requests.map((r) => r.id);
}
