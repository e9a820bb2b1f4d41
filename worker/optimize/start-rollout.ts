// `infergate optimize … --rollout`: the new version goes out through the
// running gateway's gated rollout (POST /admin/models/{m}/rollouts: shadow,
// then canary, against the stable version), with the agreement gate's
// thresholds taken from the report; `--wait` follows it to its end.
//
//   plan = --rollout-plan FILE (or {}) + version + gates.agreement from the report
//     ─▶ POST ─▶ 202 with the status ─▶ (--wait) GET …/rollouts/current every pollMs
//        until promoted (exit 0) or rolled back (exit 1, the reason)
//
// The gateway checks the plan and names any field at fault. The admin token,
// when the gateway has one, comes from INFERGATE_ADMIN_TOKEN as the gateway's
// own does, never from the command line (where `ps` shows it).

import { readFile } from 'node:fs/promises';
import type { AgreementThresholds } from './gate-thresholds.ts';

export type RolloutTarget = { gatewayUrl: string; adminToken: string | undefined; model: string };

/** The fields of a rollout status this command reads (gateway/rollout/rollout.ts RolloutStatus). */
export type RolloutSummary = { stable: string; candidate: string; state: string; reason: string | null; stage: { kind: string; percent: number } | null; paused: string | null };

/** A reason the gateway or the plan file gives for not rolling out; its message is one line. */
export class RolloutStartError extends Error {
  override name = 'RolloutStartError';
}

/** The plan to POST: the file's, with the candidate version and the report's agreement thresholds set. */
export async function rolloutPlan(planPath: string | undefined, version: string, agreement: AgreementThresholds): Promise<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  if (planPath !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(planPath, 'utf8'));
    } catch (err) {
      throw new RolloutStartError(`--rollout-plan ${planPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RolloutStartError(`--rollout-plan ${planPath}: expected a JSON object (a rollout plan)`);
    base = parsed as Record<string, unknown>;
    if ('version' in base) throw new RolloutStartError(`--rollout-plan ${planPath}: version is the new version's, leave it out`);
    if (base.gates !== undefined && (base.gates === null || typeof base.gates !== 'object' || Array.isArray(base.gates))) throw new RolloutStartError(`--rollout-plan ${planPath}: gates: expected a JSON object`);
    if (base.gates !== undefined && 'agreement' in base.gates) throw new RolloutStartError(`--rollout-plan ${planPath}: gates.agreement comes from the report, leave it out`);
  }
  return { ...base, version, gates: { ...(base.gates as Record<string, unknown> | undefined), agreement } };
}

/** POSTs the plan; answers the gateway's status of the new rollout. */
export async function startRollout(target: RolloutTarget, plan: Record<string, unknown>): Promise<RolloutSummary> {
  return call(target, 'POST', `/admin/models/${encodeURIComponent(target.model)}/rollouts`, plan, 202);
}

/** Polls the rollout until it ends; `onChange` hears each new state or stage. */
export async function followRollout(target: RolloutTarget, pollMs: number, onChange: (status: RolloutSummary) => void): Promise<RolloutSummary> {
  let last = '';
  for (;;) {
    const status = await call(target, 'GET', `/admin/models/${encodeURIComponent(target.model)}/rollouts/current`, undefined, 200);
    const seen = `${status.state} ${status.stage?.kind ?? ''} ${status.stage?.percent ?? ''} ${status.paused ?? ''}`;
    if (seen !== last) onChange(status);
    last = seen;
    if (status.state === 'promoted' || status.state === 'rolled-back') return status;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function call(target: RolloutTarget, method: string, path: string, body: unknown, expected: number): Promise<RolloutSummary> {
  const url = new URL(path, target.gatewayUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...(target.adminToken === undefined ? {} : { authorization: `Bearer ${target.adminToken}` }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new RolloutStartError(`cannot reach the gateway at ${target.gatewayUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.status !== expected) {
    const { error, code } = (parsed ?? {}) as { error?: unknown; code?: unknown };
    const catalog = typeof code === 'string' ? ` ${code}` : '';
    throw new RolloutStartError(`${method} ${url.pathname}: ${response.status}${catalog} ${typeof error === 'string' ? error : text.slice(0, 200)}`);
  }
  return parsed as RolloutSummary;
}
