// Can this model be batched, and along which axis of each tensor?
//
// Batching concatenates requests along one axis of every input and splits
// every output along one axis, so each of those axes must be dynamic (-1) in
// the signature; otherwise the merged tensor would not fit the model.
//
//   default        every input and output: rank ≥ 1 and dim 0 == -1 → axis 0
//   configured     { name: axis } for inputs and/or outputs; the axis must lie
//                  within the tensor's rank and be dynamic there
//
// e.g. a sequence model  tokens FP32 [8, -1, 16]  is unbatchable by default
// (fixed first dim) and batchable with { tokens: 1, <its outputs>: 1 }.
//
// The answer is computed once per model version, at load time; a model that
// is not batchable runs every request alone and the reason is worth logging.
//
// What the signature cannot tell: that an output's batch axis really holds
// one row per input row (a model could reduce over the batch). Splitting
// checks that the output's axis length equals the rows sent and fails the
// batch otherwise; the config is the place to turn batching off for such a model.

import type { ModelSignature, TensorSpec } from '../../common/wire.ts';

export type BatchAxes = {
  /** Input name → the axis its requests are concatenated along. */
  inputs: ReadonlyMap<string, number>;
  /** Output name → the axis its results are split along. */
  outputs: ReadonlyMap<string, number>;
};

export type BatchAxesResult = { ok: true; axes: BatchAxes } | { ok: false; reason: string };

type AxisResult = { ok: true; axis: number } | { ok: false; reason: string };

/**
 * The batch axis of every input and output of `signature`, or why the model
 * cannot be batched. `configured` names axes for some tensors (inputs and
 * outputs share the map); the others use the default rule (axis 0, dynamic).
 */
export function batchAxesFor(signature: ModelSignature, configured?: Record<string, number>): BatchAxesResult {
  const model = `model ${signature.name} version ${signature.version}`;
  if (signature.inputs.length === 0) return { ok: false, reason: `${model} has no inputs to batch` };

  // A configured name the model does not have is a typo in the config, and
  // silently ignoring it would batch on the default axis instead.
  const known = new Set([...signature.inputs, ...signature.outputs].map((spec) => spec.name));
  for (const name of Object.keys(configured ?? {})) {
    if (!known.has(name)) return { ok: false, reason: `${model}: batch axis configured for ${JSON.stringify(name)}, which is neither an input nor an output` };
  }

  const inputs = new Map<string, number>();
  const outputs = new Map<string, number>();
  for (const [kind, specs, axes] of [['input', signature.inputs, inputs], ['output', signature.outputs, outputs]] as const) {
    for (const spec of specs) {
      const result = axisOf(spec, configured);
      if (!result.ok) return { ok: false, reason: `${model}: ${kind} ${JSON.stringify(spec.name)} ${result.reason}` };
      axes.set(spec.name, result.axis);
    }
  }
  return { ok: true, axes: { inputs, outputs } };
}

function axisOf(spec: TensorSpec, configured: Record<string, number> | undefined): AxisResult {
  const shape = JSON.stringify(spec.shape);
  if (configured !== undefined && Object.hasOwn(configured, spec.name)) {
    const axis = configured[spec.name];
    if (axis === undefined || !Number.isSafeInteger(axis) || axis < 0 || axis >= spec.shape.length) {
      return { ok: false, reason: `has shape ${shape}, which has no axis ${JSON.stringify(axis)} (configured batch axes count from 0)` };
    }
    if (spec.shape[axis] !== -1) {
      return { ok: false, reason: `has shape ${shape}: configured batch axis ${axis} is fixed at ${spec.shape[axis]}, not dynamic` };
    }
    return { ok: true, axis };
  }
  if (spec.shape.length === 0) return { ok: false, reason: 'is a scalar (shape []), which has no batch axis' };
  if (spec.shape[0] !== -1) {
    return { ok: false, reason: `has shape ${shape}: its first dim is fixed at ${spec.shape[0]}; configure a dynamic batch axis to batch it` };
  }
  return { ok: true, axis: 0 };
}
