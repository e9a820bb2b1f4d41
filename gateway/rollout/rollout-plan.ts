// The plan of a rollout, as POST /admin/models/{m}/rollouts gives it, checked
// field by field and completed with the defaults below (so that
// {"version": "3"} alone is a safe rollout). Pure.
//
//   shadow ─▶ canary 5 % ─▶ canary 25 % ─▶ canary 50 % ─▶ promote
//
// Every stage but promote has a minimum duration, a minimum count of
// requests the candidate answered in it, and at least one gate; it ends when
// all three are met. A failed gate at any time rolls back.

import { InfergateError } from '../../common/errors.ts';
import { isVersionName } from '../../common/model-repository.ts';

export type GateName = 'errors' | 'latency' | 'agreement';
export const GATE_NAMES: readonly GateName[] = ['errors', 'latency', 'agreement'];

export type GatedStage = {
  kind: 'shadow' | 'canary';
  /** canary: the share of the model's unversioned requests the candidate answers; shadow: 0. */
  percent: number;
  minDurationMs: number;
  /** Requests the candidate answers (live or shadowed) in this stage before it may end. */
  minRequests: number;
  gates: GateName[];
};

export type RolloutStage = GatedStage | { kind: 'promote' };

export type RolloutGates = {
  /** Fails when the candidate's error ratio exceeds the stable version's by more than `maxIncrease` (0.01: one point). */
  errors: { maxIncrease: number; minRequests: number };
  /** Fails when the candidate's p99 exceeds the stable's × `maxP99Ratio` and by more than `toleranceMs` (sub-millisecond p99s are noise). */
  latency: { maxP99Ratio: number; toleranceMs: number; minRequests: number };
  /**
   * On the same inputs (shadowed requests): fails when an output differs by more than `maxAbsDiff` anywhere, or
   * when the classifier-like outputs' top-1 (argmax per row) agrees on fewer than `minArgmaxAgreement` of the rows.
   */
  agreement: { maxAbsDiff: number; minArgmaxAgreement: number; minComparisons: number };
};

export type RolloutPlan = {
  /** The candidate version (a version directory of the model). */
  version: string;
  /** Worker processes started for the candidate alone. */
  candidateReplicas: number;
  /** Live requests answered by the stable version also sent to the candidate, before promotion: a share and a concurrency cap. */
  shadow: { percent: number; maxConcurrent: number };
  /** Gates read the last `windowMs` of both versions. */
  windowMs: number;
  stages: RolloutStage[];
  gates: RolloutGates;
};

const STAGE_DEFAULTS = { minDurationMs: 10_000, minRequests: 100, gates: [...GATE_NAMES] };

export const DEFAULT_ROLLOUT_PLAN: Omit<RolloutPlan, 'version'> = {
  candidateReplicas: 1,
  shadow: { percent: 20, maxConcurrent: 4 },
  windowMs: 30_000,
  stages: [
    { kind: 'shadow', percent: 0, ...STAGE_DEFAULTS },
    { kind: 'canary', percent: 5, ...STAGE_DEFAULTS },
    { kind: 'canary', percent: 25, ...STAGE_DEFAULTS },
    { kind: 'canary', percent: 50, ...STAGE_DEFAULTS },
    { kind: 'promote' },
  ],
  gates: {
    errors: { maxIncrease: 0.01, minRequests: 50 },
    latency: { maxP99Ratio: 2, toleranceMs: 5, minRequests: 100 },
    agreement: { maxAbsDiff: 1e-3, minArgmaxAgreement: 0.99, minComparisons: 20 },
  },
};

/** The plan a POST body asks for, defaults filled in; throws GW_ERR_INVALID_ADMIN_REQUEST naming the field. */
export function parseRolloutPlan(body: unknown, limits: { maxCandidateReplicas: number }): RolloutPlan {
  const top = object(body, 'body', ['version', 'candidateReplicas', 'shadow', 'windowMs', 'stages', 'gates']);
  const defaults = DEFAULT_ROLLOUT_PLAN;
  const version = top.version;
  if ((typeof version !== 'string' && typeof version !== 'number') || !isVersionName(String(version))) throw invalid('version', 'expected the candidate version, e.g. "3"', version);
  const shadow = top.shadow === undefined ? {} : object(top.shadow, 'shadow', ['percent', 'maxConcurrent']);
  const gates = top.gates === undefined ? {} : object(top.gates, 'gates', GATE_NAMES);
  const plan: RolloutPlan = {
    version: String(version),
    candidateReplicas: whole(top.candidateReplicas, 'candidateReplicas', defaults.candidateReplicas, 1, limits.maxCandidateReplicas),
    shadow: {
      percent: number(shadow.percent, 'shadow.percent', defaults.shadow.percent, 0, 100),
      maxConcurrent: whole(shadow.maxConcurrent, 'shadow.maxConcurrent', defaults.shadow.maxConcurrent, 1, 1024),
    },
    windowMs: whole(top.windowMs, 'windowMs', defaults.windowMs, 1_000, 3_600_000),
    stages: top.stages === undefined ? structuredClone(defaults.stages) : stages(top.stages),
    gates: {
      errors: gate(gates.errors, 'errors', { maxIncrease: [0, 1], minRequests: [1, 1e9] }),
      latency: gate(gates.latency, 'latency', { maxP99Ratio: [1, 1000], toleranceMs: [0, 60_000], minRequests: [1, 1e9] }),
      agreement: gate(gates.agreement, 'agreement', { maxAbsDiff: [0, Number.MAX_VALUE], minArgmaxAgreement: [0, 1], minComparisons: [1, 1e9] }),
    },
  };
  // A shadow stage's requests and the agreement gate's comparisons are shadowed requests: with none, such a stage could never end.
  if (plan.shadow.percent === 0 && plan.stages.some((s) => s.kind === 'shadow' || (s.kind === 'canary' && s.gates.includes('agreement')))) {
    throw invalid('shadow.percent', 'must be above 0 with a shadow stage or the agreement gate (both need shadowed requests)', 0);
  }
  return plan;
}

function stages(value: unknown): RolloutStage[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('stages', 'expected a list of stages ending with {"kind": "promote"}', value);
  const parsed = value.map((raw, i): RolloutStage => {
    const field = `stages[${i}]`;
    const kind = (raw as { kind?: unknown } | null)?.kind;
    if (kind === 'promote') {
      object(raw, field, ['kind']);
      if (i !== value.length - 1) throw invalid(`${field}.kind`, 'promote must be the last stage', kind);
      return { kind };
    }
    if (kind !== 'shadow' && kind !== 'canary') throw invalid(`${field}.kind`, 'expected "shadow", "canary" or "promote"', kind);
    const stage = object(raw, field, kind === 'canary' ? ['kind', 'percent', 'minDurationMs', 'minRequests', 'gates'] : ['kind', 'minDurationMs', 'minRequests', 'gates']);
    if (kind === 'canary' && stage.percent === undefined) throw invalid(`${field}.percent`, 'a canary stage needs its traffic percentage', undefined);
    return {
      kind,
      percent: kind === 'canary' ? canaryPercent(stage.percent, `${field}.percent`) : 0,
      minDurationMs: whole(stage.minDurationMs, `${field}.minDurationMs`, STAGE_DEFAULTS.minDurationMs, 0, 86_400_000),
      minRequests: whole(stage.minRequests, `${field}.minRequests`, STAGE_DEFAULTS.minRequests, 0, 1e9),
      gates: gateNames(stage.gates, `${field}.gates`),
    };
  });
  if (parsed.at(-1)!.kind !== 'promote') throw invalid(`stages[${parsed.length - 1}]`, 'the last stage must be {"kind": "promote"}', value.at(-1));
  return parsed;
}

function canaryPercent(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 100) throw invalid(field, 'expected a percentage above 0 and below 100 (promote is the 100 % stage)', value);
  return value;
}

function gateNames(value: unknown, field: string): GateName[] {
  if (value === undefined) return [...GATE_NAMES];
  if (!Array.isArray(value) || value.length === 0) throw invalid(field, `expected one or more of ${GATE_NAMES.join(', ')} (every stage needs a gate)`, value);
  for (const [i, name] of value.entries()) {
    if (!GATE_NAMES.includes(name as GateName)) throw invalid(`${field}[${i}]`, `expected one of ${GATE_NAMES.join(', ')}`, name);
  }
  return [...new Set(value as GateName[])];
}

function gate<G extends keyof RolloutGates>(value: unknown, name: G, bounds: Record<keyof RolloutGates[G], [number, number]>): RolloutGates[G] {
  const fields = Object.keys(bounds) as Array<keyof RolloutGates[G] & string>;
  const given = value === undefined ? {} : object(value, `gates.${name}`, fields);
  const defaults = DEFAULT_ROLLOUT_PLAN.gates[name] as Record<string, number>;
  const result: Record<string, number> = {};
  for (const key of fields) {
    const [min, max] = bounds[key];
    const field = `gates.${name}.${key}`;
    result[key] = key.startsWith('min') && key !== 'minArgmaxAgreement' ? whole(given[key], field, defaults[key]!, min, max) : number(given[key], field, defaults[key]!, min, max);
  }
  return result as RolloutGates[G];
}

function object(value: unknown, field: string, fields: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(field, `expected a JSON object with ${fields.join(', ')}`, value);
  const unknown = Object.keys(value).find((key) => !fields.includes(key));
  if (unknown !== undefined) throw invalid(field === 'body' ? unknown : `${field}.${unknown}`, `unknown field (expected ${fields.join(', ')})`, undefined);
  return value as Record<string, unknown>;
}

function number(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw invalid(field, `expected a number from ${min} to ${max}`, value);
  return value;
}

function whole(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw invalid(field, `expected a whole number from ${min} to ${max}`, value);
  return value;
}

function invalid(field: string, expected: string, got: unknown): InfergateError {
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)?.slice(0, 64)}`;
  return new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `${field}: ${expected}${shown}`);
}
