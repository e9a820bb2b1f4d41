// Why the batcher refuses a request, as the catalogued errors a client
// gets: a full queue or too long a wait (retry after a second), and a
// request its client cancelled.

import { InfergateError } from '../../common/errors.ts';

export function queueFull(model: string, size: number): InfergateError {
  const error = new InfergateError('GW_ERR_QUEUE_FULL', `model "${model}" has ${size} requests queued`);
  error.retryAfterSeconds = 1;
  return error;
}

/** It would expire in the queue, or wait past the queue-delay target (`maxQueueWaitMs`, 0: none). */
export function waitTooLong(model: string, waitMs: number, deadlineInMs: number, maxQueueWaitMs: number): InfergateError {
  const error = new InfergateError(
    'GW_ERR_OVERLOADED',
    `model "${model}": about ${Math.round(waitMs)} ms of queued work is ahead (deadline in ${Math.max(0, Math.round(deadlineInMs))} ms, queue-delay target ${maxQueueWaitMs || 'none'})`,
  );
  error.retryAfterSeconds = 1;
  return error;
}

export function cancelled(model: string): InfergateError {
  return new InfergateError('GW_ERR_CANCELLED', `model "${model}": the client cancelled the request while it was queued`);
}
