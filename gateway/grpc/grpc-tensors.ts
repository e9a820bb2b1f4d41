// A KServe v2 gRPC infer message as the one request shape every front
// decodes (the REST JSON's, with its binary section), and an answer as a
// ModelInferResponse. Pure. Decoding goes through the REST decoder's own
// checks (decodeParsedInferRequest), so names, datatypes, shapes, element
// counts and limits are refused with the same catalogued errors whichever
// protocol a request came by:
//
//   raw_input_contents[i]      → input i's binary_data_size and its bytes in the binary section
//   contents.<type>_contents   → input i's `data` (BYTES elements: length-prefixed into the binary section)
//
// An answer goes back raw (raw_output_contents) when the request came raw or
// asked for binary data, or when an output is FP16 (it has no typed field);
// otherwise in each output's typed contents.

import { datatypeByKServe, type KServeDatatype } from '../../common/datatypes.ts';
import { clientText, InfergateError } from '../../common/errors.ts';
import { lengthPrefixed } from '../../common/kserve/binary-data.ts';
import { decodeParsedInferRequest, type DecodedInferRequest, type DecodeOptions } from '../../common/kserve/decode-request.ts';
import type { ModelSignature, Tensor } from '../../common/wire.ts';

/** An InferParameter as @grpc/proto-loader gives it (oneofs: true names the field that is set). */
export type GrpcParameter = { parameter_choice?: string; bool_param?: boolean; int64_param?: number | string; string_param?: string; double_param?: number; uint64_param?: number | string };

export type GrpcContents = {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Array<number | string>;
  uint_contents?: number[];
  uint64_contents?: Array<number | string>;
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
};

export type GrpcInferRequest = {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, GrpcParameter>;
  inputs: Array<{ name: string; datatype: string; shape: Array<number | string>; parameters: Record<string, GrpcParameter>; contents: GrpcContents | null }>;
  outputs: Array<{ name: string; parameters: Record<string, GrpcParameter> }>;
  raw_input_contents: Uint8Array[];
};

export type GrpcOutputTensor = { name: string; datatype: string; shape: number[]; contents?: GrpcContents };

export type GrpcInferResponse = {
  model_name: string;
  model_version: string;
  id: string;
  outputs: GrpcOutputTensor[];
  raw_output_contents: Uint8Array[];
};

/** Which typed field carries each datatype's elements (FP16 has none: raw only). */
const CONTENTS_FIELD: Record<KServeDatatype, keyof GrpcContents | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** A parameter's value, whichever of the oneof's fields carries it. */
export function parameterValue(parameter: GrpcParameter): unknown {
  const field = parameter.parameter_choice as keyof GrpcParameter | undefined;
  return field === undefined ? undefined : parameter[field];
}

function plainParameters(parameters: Record<string, GrpcParameter> | undefined): Record<string, unknown> | undefined {
  const names = Object.keys(parameters ?? {});
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((name) => [name, parameterValue(parameters![name]!)]));
}

export type DecodedGrpcRequest = DecodedInferRequest & {
  /** Whether the answer goes back in raw_output_contents. */
  rawOutputs: boolean;
};

export function decodeGrpcInferRequest(message: GrpcInferRequest, signature: ModelSignature, options: DecodeOptions): DecodedGrpcRequest {
  const raw = message.raw_input_contents;
  if (raw.length > 0 && raw.length !== message.inputs.length) {
    throw invalid(`raw_input_contents has ${raw.length} entries for ${message.inputs.length} inputs: it needs one per input, in the order of "inputs"`);
  }
  const binary: Uint8Array[] = [];
  const inputs = message.inputs.map((input, i) => {
    const parameters = plainParameters(input.parameters) ?? {};
    // int64 dims arrive as decimal strings (the loader keeps 64-bit integers exact).
    const base = { name: input.name, datatype: input.datatype, shape: input.shape.map(Number) };
    if (raw.length > 0) {
      if (hasContents(input.contents)) throw invalid(`input ${clientText(input.name)} has contents, and the request also has raw_input_contents: send one or the other`);
      binary.push(raw[i]!);
      return { ...base, parameters: { ...parameters, binary_data_size: raw[i]!.byteLength } };
    }
    const elements = typedElements(input.name, input.datatype, input.contents);
    if (input.datatype !== 'BYTES') return { ...base, parameters, data: elements };
    const bytes = lengthPrefixed(elements as Uint8Array[]);
    binary.push(bytes);
    return { ...base, parameters: { ...parameters, binary_data_size: bytes.byteLength } };
  });
  const parameters = plainParameters(message.parameters);
  const outputs = message.outputs.map((output) => {
    const parameters = plainParameters(output.parameters);
    return parameters ? { name: output.name, parameters } : { name: output.name };
  });
  const root = {
    ...(message.id ? { id: message.id } : {}),
    ...(parameters ? { parameters } : {}),
    inputs,
    ...(outputs.length > 0 ? { outputs } : {}),
  };
  const decoded = decodeParsedInferRequest(root, signature, binary.length > 0 ? concat(binary) : undefined, options);
  const rawOutputs = raw.length > 0 || parameters?.binary_data_output === true || decoded.binaryOutputs !== undefined || signature.outputs.some((o) => CONTENTS_FIELD[o.datatype] === undefined);
  return { ...decoded, rawOutputs };
}

function hasContents(contents: GrpcContents | null): boolean {
  if (!contents) return false;
  return Object.values(contents).some((values) => Array.isArray(values) && values.length > 0);
}

/** The elements of an input sent in its typed field; refuses elements sent in another datatype's field. */
function typedElements(name: string, datatype: string, contents: GrpcContents | null): unknown[] {
  const info = datatypeByKServe(datatype);
  // An unknown datatype is refused by the shared checks, naming the input; its (absent) data does not matter.
  if (!info) return [];
  const field = CONTENTS_FIELD[info.kserve];
  if (field === undefined) throw invalid(`input ${clientText(name)}: ${datatype} has no typed contents field; send it in raw_input_contents`);
  for (const [other, values] of Object.entries(contents ?? {})) {
    if (other !== field && Array.isArray(values) && values.length > 0) throw invalid(`input ${clientText(name)}: ${datatype} elements belong in contents.${field}, not contents.${other}`);
  }
  // 64-bit integers come as decimal strings (exact beyond 2^53), which the shared conversion reads as the JSON path does.
  return contents?.[field] ?? [];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The answer's tensors (already in the requested order) as a ModelInferResponse. */
export function grpcInferResponse(answer: { model: string; version: string; tensors: readonly Tensor[] }, id: string | undefined, raw: boolean): GrpcInferResponse {
  const outputs = answer.tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
  return {
    model_name: answer.model,
    model_version: answer.version,
    id: id ?? '',
    outputs: raw ? outputs : answer.tensors.map((t, i) => ({ ...outputs[i]!, contents: { [CONTENTS_FIELD[t.datatype]!]: typedValues(t) } })),
    raw_output_contents: raw ? answer.tensors.map((t) => t.data) : [],
  };
}

/** A tensor's elements as its typed field holds them (64-bit integers as decimal strings, exact). */
function typedValues(tensor: Tensor): unknown[] {
  // A copy: the tensor's bytes may sit at any offset of a frame, and typed arrays need aligned memory.
  const bytes = Uint8Array.prototype.slice.call(tensor.data);
  const { buffer } = bytes;
  switch (tensor.datatype) {
    case 'BOOL':
      return Array.from(bytes, (b) => b !== 0);
    case 'INT8':
      return Array.from(new Int8Array(buffer));
    case 'INT16':
      return Array.from(new Int16Array(buffer));
    case 'INT32':
      return Array.from(new Int32Array(buffer));
    case 'INT64':
      return Array.from(new BigInt64Array(buffer), String);
    case 'UINT8':
      return Array.from(bytes);
    case 'UINT16':
      return Array.from(new Uint16Array(buffer));
    case 'UINT32':
      return Array.from(new Uint32Array(buffer));
    case 'UINT64':
      return Array.from(new BigUint64Array(buffer), String);
    case 'FP32':
      return Array.from(new Float32Array(buffer));
    case 'FP64':
      return Array.from(new Float64Array(buffer));
    case 'BYTES':
      return bytesElements(bytes);
    case 'FP16':
      throw new InfergateError('GW_ERR_INTERNAL', 'FP16 outputs go back raw');
  }
}

function bytesElements(bytes: Uint8Array): Uint8Array[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  for (let offset = 0; offset + 4 <= view.byteLength; ) {
    const length = view.readUInt32LE(offset);
    elements.push(view.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return elements;
}

function invalid(message: string): InfergateError {
  return new InfergateError('GW_ERR_INVALID_REQUEST', message);
}
