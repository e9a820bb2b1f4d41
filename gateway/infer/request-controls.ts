// The controls a request may set on its own run, judged the same way
// whatever carried them (an HTTP header, a KServe parameter, gRPC metadata):
// its priority (1 is highest) and a deadline shorter than the model's. A
// front reads the raw values; these only judge them.

import { InfergateError } from '../../common/errors.ts';
import { describe } from '../../common/kserve/describe.ts';

/** What a model version allows a request to ask for. */
export type ControlLimits = { priorityLevels: number; timeoutMs: number };

/** The priority a request asks for (a header's text or a parameter's value); 1 is highest. Undefined when it asks for none. */
export function askedPriority(raw: unknown, limits: ControlLimits): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if ((typeof raw !== 'string' && typeof raw !== 'number') || raw === '' || !Number.isInteger(value) || value < 1 || value > limits.priorityLevels) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `priority must be an integer from 1 (highest) to ${limits.priorityLevels}, got ${describe(raw)}`);
  }
  return value;
}

/** The time budget a request asks for, capped at the model's default (a client may shorten its deadline, never lengthen it). Undefined when it asks for none. */
export function askedTimeoutMs(raw: unknown, limits: ControlLimits): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if ((typeof raw !== 'string' && typeof raw !== 'number') || raw === '' || !Number.isFinite(value) || value <= 0) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `timeout must be a positive number of milliseconds, got ${describe(raw)}`);
  }
  return Math.min(value, limits.timeoutMs);
}
