// The controls a request may set on its own run, judged the same way
// whatever carried them (an HTTP header, a KServe parameter, gRPC metadata):
// its priority (1 is highest), a deadline shorter than the model's, a fresh
// answer, and the order of the outputs. A front reads the raw values; these
// only judge them.

import { InfergateError } from '../../common/errors.ts';
import { describe } from '../../common/kserve/describe.ts';
import type { InferAnswer, Tensor } from '../../common/wire.ts';

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

/**
 * Triton's `timeout` request parameter, in microseconds (Triton's unit), as a time budget in milliseconds capped
 * as askedTimeoutMs's. 0 asks for none, as in Triton (the model's default applies). Undefined when it asks for none.
 */
export function askedTimeoutUs(raw: unknown, limits: ControlLimits): number | undefined {
  if (raw === undefined || raw === 0) return undefined;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `"parameters": "timeout" must be a whole number of microseconds (0: none), got ${describe(raw)}`);
  }
  return Math.min(raw / 1000, limits.timeoutMs);
}

/** Whether the request asks for a fresh answer (KServe parameter `no_cache`): the cache is not asked, the answer is still stored. */
export function wantsFreshAnswer(parameters: Record<string, unknown> | undefined): boolean {
  const noCache = parameters?.no_cache;
  if (noCache === undefined || typeof noCache === 'boolean') return noCache === true;
  throw new InfergateError('GW_ERR_INVALID_REQUEST', `"parameters": "no_cache" must be true or false, not ${JSON.stringify(noCache)}`);
}

/** The answer's tensors in the order the request named its outputs (all of them, as the model gives them, when it named none). */
export function inRequestedOrder(answer: InferAnswer, outputs: readonly string[] | undefined): InferAnswer {
  if (outputs === undefined) return answer;
  const { tensors } = answer;
  if (tensors.length === outputs.length && tensors.every((t, i) => t.name === outputs[i])) return answer;
  const byName = new Map<string, Tensor>(tensors.map((t) => [t.name, t]));
  const ordered = outputs.map((name) => byName.get(name)).filter((t): t is Tensor => t !== undefined);
  return { model: answer.model, version: answer.version, tensors: ordered };
}
