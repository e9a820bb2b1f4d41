// The admin routes that change a model's replicas and versions while it
// serves: PUT /admin/models/{m}/replicas reads {"replicas": N} and starts the
// scale (202 with the plan); POST /admin/models/{m}/rollouts reads a rollout
// plan and starts it (202 with its status). Bodies are small and read with
// their own tight limits, never the infer path's.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';
import type { ScalePlan } from '../scaling/scale-control.ts';
import { readBody } from './body.ts';
import type { Reply } from './reply.ts';

/** What the admin routes need of scaling. */
export type ModelScaling = {
  /** Throws 404, or 400 GW_ERR_INVALID_ADMIN_REQUEST naming the field. */
  scale(model: string, replicas: number): ScalePlan;
  /** The model's desired and current replicas, last actions, and the autoscaler's last decision. */
  status(model: string): object;
};

/** What the admin routes need of rollouts (rollout-control.ts). */
export type ModelRollouts = {
  /** Throws 404, 400 GW_ERR_INVALID_ADMIN_REQUEST naming the field, or 409. */
  start(model: string, plan: unknown): object;
  status(model: string): object;
  /** `reason`: when another gateway of the fleet asks, why. */
  abort(model: string, reason?: string): object;
};

const ADMIN_BODY_MAX_BYTES = 16 * 1024;
const ADMIN_BODY_TIMEOUT_MS = 10_000;

export async function scaleReply(scaling: ModelScaling, model: string, req: IncomingMessage, now: () => number): Promise<Reply> {
  const { replicas } = adminFields(await adminBody(req, now), ['replicas']);
  if (typeof replicas !== 'number') throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `replicas: expected a number, got ${JSON.stringify(replicas) ?? 'nothing'}`);
  return { status: 202, body: scaling.scale(model, replicas) };
}

export async function rolloutStartReply(rollouts: ModelRollouts, model: string, req: IncomingMessage, now: () => number): Promise<Reply> {
  return { status: 202, body: rollouts.start(model, await adminBody(req, now)) };
}

/** The admin call's JSON body; throws GW_ERR_INVALID_ADMIN_REQUEST when it is not JSON. */
async function adminBody(req: IncomingMessage, now: () => number): Promise<unknown> {
  const body = await readBody(req, { maxBytes: ADMIN_BODY_MAX_BYTES, startedMs: now(), timeoutMs: ADMIN_BODY_TIMEOUT_MS, now });
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `body: not JSON (${(err as Error).message})`);
  }
}

/** A JSON object with only the fields named; throws GW_ERR_INVALID_ADMIN_REQUEST naming what is wrong. */
function adminFields(parsed: unknown, fields: readonly string[]): Record<string, unknown> {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `body: expected a JSON object with ${fields.join(', ')}`);
  const unknown = Object.keys(parsed).filter((key) => !fields.includes(key));
  if (unknown.length > 0) throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `${unknown[0]}: unknown field (expected ${fields.join(', ')})`);
  return parsed as Record<string, unknown>;
}
