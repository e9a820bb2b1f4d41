// A model version as a worker holds it once loaded: its onnxruntime session
// and signature, and the checks that turn a request's tensors into that
// session's feeds and fetches. Both the requests (model-store.ts) and the
// warm-up samples (load-version.ts) go through these checks, so onnxruntime
// only ever sees well-formed tensors.

import type * as ort from 'onnxruntime-node';
import { datatypeByKServe } from '../common/datatypes.ts';
import { InfergateError } from '../common/errors.ts';
import type { ModelSignature, Tensor, TensorSpec } from '../common/wire.ts';
import { toOrtTensor } from './tensor-convert.ts';

/** The subset of an onnxruntime session the store uses (a test can fake it). */
export type Session = Pick<ort.InferenceSession, 'inputMetadata' | 'outputMetadata' | 'release'> & {
  run(feeds: ort.InferenceSession.FeedsType, fetches: readonly string[]): Promise<ort.InferenceSession.ReturnType>;
};
export type CreateSession = (path: string, options: ort.InferenceSession.SessionOptions) => Promise<Session>;

export type LoadedVersion = { signature: ModelSignature; session: Session; inputs: Map<string, TensorSpec>; outputs: Map<string, TensorSpec> };

export function loadedVersion(signature: ModelSignature, session: Session): LoadedVersion {
  return {
    signature,
    session,
    inputs: new Map(signature.inputs.map((s) => [s.name, s])),
    outputs: new Map(signature.outputs.map((s) => [s.name, s])),
  };
}

/** Request tensors → onnxruntime feeds, after checking them against the signature. */
export function feedsFor(loaded: LoadedVersion, tensors: readonly Tensor[]): ort.InferenceSession.FeedsType {
  const { signature } = loaded;
  const feeds: Record<string, ort.Tensor> = {};
  const where = `model ${signature.name} version ${signature.version}`;
  for (const tensor of tensors) {
    const spec = loaded.inputs.get(tensor.name);
    if (!spec) throw new InfergateError('GW_ERR_UNKNOWN_INPUT', `${where} has no input ${JSON.stringify(tensor.name)}`);
    if (Object.hasOwn(feeds, tensor.name)) throw new InfergateError('GW_ERR_DUPLICATE_TENSOR', `input ${JSON.stringify(tensor.name)} is given twice`);
    if (tensor.datatype !== spec.datatype) {
      const code = datatypeByKServe(tensor.datatype) ? 'GW_ERR_DATATYPE_MISMATCH' : 'GW_ERR_UNKNOWN_DATATYPE';
      throw new InfergateError(code, `input ${JSON.stringify(tensor.name)} is ${JSON.stringify(tensor.datatype)}; ${where} takes ${spec.datatype}`);
    }
    if (!shapeFits(tensor.shape, spec.shape)) {
      throw new InfergateError('GW_ERR_SHAPE_MISMATCH', `input ${JSON.stringify(tensor.name)} has shape ${JSON.stringify(tensor.shape)}; ${where} takes ${JSON.stringify(spec.shape)}`);
    }
    feeds[tensor.name] = toOrtTensor(tensor);
  }
  for (const spec of signature.inputs) {
    if (!Object.hasOwn(feeds, spec.name)) throw new InfergateError('GW_ERR_MISSING_INPUT', `${where} needs input ${JSON.stringify(spec.name)}`);
  }
  return feeds;
}

export function fetchesFor(loaded: LoadedVersion, outputNames: readonly string[] | undefined): string[] {
  if (!outputNames || outputNames.length === 0) return loaded.signature.outputs.map((s) => s.name);
  const seen = new Set<string>();
  for (const name of outputNames) {
    if (!loaded.outputs.has(name)) {
      const { name: model, version } = loaded.signature;
      throw new InfergateError('GW_ERR_UNKNOWN_OUTPUT', `model ${model} version ${version} has no output ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new InfergateError('GW_ERR_DUPLICATE_TENSOR', `output ${JSON.stringify(name)} is asked for twice`);
    seen.add(name);
  }
  return [...outputNames];
}

/** Same rank; every static dim equal (-1 accepts any size). Non-integer dims are left to the frame check. */
function shapeFits(shape: unknown, spec: readonly number[]): boolean {
  if (!Array.isArray(shape) || shape.length !== spec.length) return false;
  for (let i = 0; i < spec.length; i++) {
    const want = spec[i]!;
    if (want !== -1 && shape[i] !== want) return false;
  }
  return true;
}
