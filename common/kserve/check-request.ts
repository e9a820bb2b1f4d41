// The structural checks of an infer request (steps 1–5 of decode-request.ts),
// shared by both decoders: they run on the parsed request (decodeInferRequest)
// or on a skeleton of it in which every `data` is a DataSpan and everything
// else is parsed from its own small span (request-envelope.ts). Neither kind
// of `data` is read here, so what follows costs the same for a 60 MB body as
// for a 60 byte one.

import { datatypeByKServe } from '../datatypes.ts';
import { clientText, InfergateError } from '../errors.ts';
import type { ModelSignature, TensorSpec } from '../wire.ts';
import { BinarySection, binaryDataSize, booleanParameter } from './binary-data.ts';
import { describe } from './describe.ts';
import { checkRequestLimits, type RequestLimits } from './request-limits.ts';

type Plain = Record<string, unknown>;

/** An input whose name, datatype and shape were checked; its data not yet. */
export type CheckedInput = {
  spec: TensorSpec;
  shape: number[];
  /** The JSON `data` (parsed, or a DataSpan), absent when `bytes` came in the binary section. */
  data: unknown;
  bytes?: Uint8Array;
};

export type CheckedRequest = {
  id?: string;
  parameters?: Plain;
  outputs?: string[];
  binaryOutputs?: string[];
  /** One per model input, in the signature's order. */
  inputs: CheckedInput[];
};

export function checkRequest(root: unknown, signature: ModelSignature, section: BinarySection | undefined, limits: RequestLimits): CheckedRequest {
  if (!isPlain(root)) throw invalidRequest(`the request must be a JSON object, not ${describe(root)}`);
  const { id, parameters, inputs, outputs } = root;
  if (id !== undefined && typeof id !== 'string') throw invalidRequest(`"id" must be a string, not ${describe(id)}`);
  checkParameters(parameters, '"parameters"');
  if (!Array.isArray(inputs)) throw invalidRequest(`"inputs" must be an array, not ${describe(inputs)}`);

  const byName = new Map<string, CheckedInput>();
  for (let i = 0; i < inputs.length; i++) {
    const checked = checkInput(inputs[i], i, signature, section);
    if (byName.has(checked.spec.name)) {
      throw new InfergateError('GW_ERR_DUPLICATE_TENSOR', `input "${checked.spec.name}" appears more than once in "inputs"`);
    }
    byName.set(checked.spec.name, checked);
  }
  const ordered: CheckedInput[] = [];
  for (const spec of signature.inputs) {
    const input = byName.get(spec.name);
    if (!input) throw new InfergateError('GW_ERR_MISSING_INPUT', `model "${signature.name}" needs input "${spec.name}" (${spec.datatype} [${spec.shape.join(',')}])`);
    ordered.push(input);
  }
  section?.finish();
  const allBinary = booleanParameter(parameters as Plain | undefined, 'binary_data_output', '"parameters"') ?? false;
  const { names: outputNames, binary } = checkOutputs(outputs, signature, allBinary);
  checkRequestLimits(ordered.map((input) => ({ name: input.spec.name, shape: input.shape })), limits);
  return {
    ...(id !== undefined ? { id } : {}),
    ...(parameters !== undefined ? { parameters: parameters as Plain } : {}),
    ...(outputNames ? { outputs: outputNames } : {}),
    ...(binary.length > 0 ? { binaryOutputs: binary } : {}),
    inputs: ordered,
  };
}

function checkInput(input: unknown, index: number, signature: ModelSignature, section: BinarySection | undefined): CheckedInput {
  if (!isPlain(input)) throw invalidRequest(`inputs[${index}] must be an object, not ${describe(input)}`);
  const { name, datatype, shape, parameters, data } = input;
  if (typeof name !== 'string') throw invalidRequest(`inputs[${index}].name must be a string, not ${describe(name)}`);
  // The client's text, cut short: a 10 KB name must not be echoed whole in every message.
  // Quoted only for a message: most requests never need it.
  const quoted = (): string => clientText(name);
  if (typeof datatype !== 'string') throw invalidRequest(`input ${quoted()}: "datatype" must be a string, not ${describe(datatype)}`);
  if (!Array.isArray(shape)) throw invalidRequest(`input ${quoted()}: "shape" must be an array, not ${describe(shape)}`);
  for (let d = 0; d < shape.length; d++) {
    const dim: unknown = shape[d];
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw invalidRequest(`input ${quoted()}: shape dim ${d} is ${describe(dim)}, not a non-negative integer`);
    }
  }
  if (parameters !== undefined) checkParameters(parameters, `input ${quoted()}: "parameters"`);
  // Binary data is claimed in JSON order, before anything else can fail on this input.
  const binarySize = binaryDataSize(name, parameters as Plain | undefined);
  let bytes: Uint8Array | undefined;
  if (binarySize !== undefined) {
    if (data !== undefined) throw invalidRequest(`input ${quoted()} has both "data" and "binary_data_size"`);
    if (!section) throw new InfergateError('GW_ERR_BINARY_DATA', `input ${quoted()} has "binary_data_size" but the request has no Inference-Header-Content-Length (no binary section)`);
    bytes = section.take(name, binarySize);
  } else if (data === undefined) throw invalidRequest(`input ${quoted()} has no "data"`);

  const spec = signature.inputs.find((s) => s.name === name);
  if (!spec) {
    throw new InfergateError('GW_ERR_UNKNOWN_INPUT', `input ${quoted()} is not an input of model "${signature.name}" (it takes ${names(signature.inputs)})`);
  }
  const known = datatypeByKServe(datatype);
  if (!known) throw new InfergateError('GW_ERR_UNKNOWN_DATATYPE', `input ${quoted()} has datatype ${describe(datatype)}`);
  if (known.kserve !== spec.datatype) {
    throw new InfergateError('GW_ERR_DATATYPE_MISMATCH', `input ${quoted()} is ${known.kserve} but the model takes ${spec.datatype}`);
  }
  checkShape(name, shape as number[], spec);
  return { spec, shape: (shape as number[]).map((dim) => dim || 0), data, ...(bytes ? { bytes } : {}) };
}

function checkShape(name: string, shape: readonly number[], spec: TensorSpec): void {
  const wanted = `[${spec.shape.join(',')}]`;
  if (shape.length !== spec.shape.length) {
    throw new InfergateError('GW_ERR_SHAPE_MISMATCH', `input "${name}" has rank ${shape.length} ([${shape.join(',')}]) but the model takes ${wanted}`);
  }
  for (let d = 0; d < shape.length; d++) {
    const declared = spec.shape[d]!;
    if (declared >= 0 && shape[d] !== declared) {
      throw new InfergateError('GW_ERR_SHAPE_MISMATCH', `input "${name}" has dim ${d} = ${shape[d]} ([${shape.join(',')}]) but the model takes ${wanted}`);
    }
  }
}

/** The requested outputs (undefined: all) and which of them go back as binary data. */
function checkOutputs(outputs: unknown, signature: ModelSignature, allBinary: boolean): { names: string[] | undefined; binary: string[] } {
  if (outputs === undefined) return { names: undefined, binary: allBinary ? signature.outputs.map((o) => o.name) : [] };
  if (!Array.isArray(outputs)) throw invalidRequest(`"outputs" must be an array, not ${describe(outputs)}`);
  const seen = new Set<string>();
  const binary: string[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const output: unknown = outputs[i];
    if (!isPlain(output)) throw invalidRequest(`outputs[${i}] must be an object, not ${describe(output)}`);
    const { name, parameters } = output;
    if (typeof name !== 'string') throw invalidRequest(`outputs[${i}].name must be a string, not ${describe(name)}`);
    const quoted = (): string => clientText(name);
    if (parameters !== undefined) checkParameters(parameters, `output ${quoted()}: "parameters"`);
    if (!signature.outputs.some((s) => s.name === name)) {
      throw new InfergateError('GW_ERR_UNKNOWN_OUTPUT', `output ${quoted()} is not an output of model "${signature.name}" (it has ${names(signature.outputs)})`);
    }
    if (seen.has(name)) throw new InfergateError('GW_ERR_DUPLICATE_TENSOR', `output ${quoted()} appears more than once in "outputs"`);
    seen.add(name);
    const asBinary = parameters === undefined ? undefined : booleanParameter(parameters as Plain, 'binary_data', `output ${quoted()}: "parameters"`);
    if (asBinary ?? allBinary) binary.push(name);
  }
  // The protocol makes "outputs" optional; an empty list is read as "not given" (all outputs), as Triton does.
  if (seen.size === 0) return checkOutputs(undefined, signature, allBinary);
  return { names: [...seen], binary };
}

/** KServe parameters: any JSON object; passed through, never interpreted here. */
function checkParameters(parameters: unknown, where: string): void {
  if (parameters !== undefined && !isPlain(parameters)) throw invalidRequest(`${where} must be an object, not ${describe(parameters)}`);
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(', ') || 'none';
}

function invalidRequest(detail: string): InfergateError {
  return new InfergateError('GW_ERR_INVALID_REQUEST', detail);
}
