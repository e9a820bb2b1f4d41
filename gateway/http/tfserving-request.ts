// A TF Serving REST predict body as the one request shape every front
// decodes (the KServe JSON's, with its binary section). Pure. As in TF
// Serving, the body names no datatypes and no shapes: each input's datatype
// is the model signature's, and its shape is the nesting of its JSON value.
// Decoding then goes through the KServe decoder's own checks
// (decodeParsedInferRequest), so names, ranks and static dims, element
// counts, values and limits are refused with the same catalogued errors
// whichever protocol a request came by.
//
//   {"instances": [row, row, …]}        row format: a row is the value of the model's one input, or an
//                                        object {input: value}; rows are stacked along a new first dim
//                                        (its size is the number of instances)
//   {"inputs": value | {input: value}}  columnar format: each value is its input's whole tensor
//   "signature_name"                    optional; only "serving_default" exists (an ONNX model has one signature)
//
//   [[1,2],[3,4]] → shape [2,2]   7 → shape []   [] → shape [0]   (the first item at each level; a ragged
//                                                                 value is then refused by the nesting rule)
//
// BYTES (TF Serving's DT_STRING) elements are JSON strings (UTF-8) or
// {"b64": "<base64>"} for any bytes; they go into the binary section,
// length-prefixed, as the binary extension carries them.

import { lengthPrefixed } from '../../common/kserve/binary-data.ts';
import { clientText, InfergateError } from '../../common/errors.ts';
import { decodeParsedInferRequest, type DecodeOptions } from '../../common/kserve/decode-request.ts';
import { jsonDataLeaves, MAX_DATA_DEPTH } from '../../common/kserve/data-nesting.ts';
import { describe } from '../../common/kserve/describe.ts';
import type { ModelSignature, Tensor } from '../../common/wire.ts';

/** The one signature an ONNX model has, under TF Serving's default name. */
export const SERVING_SIGNATURE = 'serving_default';

/** Row ("instances") or columnar ("inputs"): the answer comes back in the same format. */
export type PredictFormat = 'row' | 'columnar';

export type DecodedPredictRequest = { format: PredictFormat; tensors: Tensor[] };

type Plain = Record<string, unknown>;

/** One input as the body gives it: a name, the shape its nesting says, and its JSON value (for `data`). */
type NamedValue = { name: string; shape: number[]; data: unknown };

// Strict UTF-8, as the KServe decoder reads JSON (a bad sequence would otherwise reach BYTES inputs as U+FFFD).
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and decodes a predict body; throws GW_ERR_MALFORMED_JSON and every catalogued 4xx of decoding. */
export function decodePredictBody(body: Uint8Array, signature: ModelSignature, options: DecodeOptions = {}): DecodedPredictRequest {
  let root: unknown;
  try {
    root = JSON.parse(utf8.decode(body));
  } catch (err) {
    throw new InfergateError('GW_ERR_MALFORMED_JSON', (err as Error).message);
  }
  return decodePredictRequest(root, signature, options);
}

export function decodePredictRequest(root: unknown, signature: ModelSignature, options: DecodeOptions = {}): DecodedPredictRequest {
  if (!isPlain(root)) throw invalid(`the request must be a JSON object, not ${describe(root)}`);
  checkSignatureName(root.signature_name);
  const { instances, inputs } = root;
  if (instances !== undefined && inputs !== undefined) throw invalid('send "instances" (row format) or "inputs" (columnar format), not both');
  if (instances === undefined && inputs === undefined) throw invalid('the request needs "instances" (row format) or "inputs" (columnar format)');
  const format: PredictFormat = instances !== undefined ? 'row' : 'columnar';
  const named = format === 'row' ? rowValues(instances, signature) : columnValues(inputs, signature);

  const binary: Uint8Array[] = [];
  const kserveInputs = named.map(({ name, shape, data }) => {
    const spec = signature.inputs.find((s) => s.name === name);
    // An unknown name is refused by the shared checks, which look at it before its datatype.
    if (spec?.datatype !== 'BYTES') return { name, datatype: spec?.datatype ?? 'BYTES', shape, data };
    const bytes = lengthPrefixed(bytesElements(name, shape, data));
    binary.push(bytes);
    return { name, datatype: 'BYTES', shape, parameters: { binary_data_size: bytes.byteLength } };
  });
  const decoded = decodeParsedInferRequest({ inputs: kserveInputs }, signature, binary.length > 0 ? Buffer.concat(binary) : undefined, options);
  return { format, tensors: decoded.tensors };
}

/** TF Serving answers an unknown signature with INVALID_ARGUMENT; "" is the default, as there. */
function checkSignatureName(name: unknown): void {
  if (name === undefined || name === '' || name === SERVING_SIGNATURE) return;
  if (typeof name !== 'string') throw invalid(`"signature_name" must be a string, not ${describe(name)}`);
  throw invalid(`serving signature name ${clientText(name)} not found: the model has one signature, "${SERVING_SIGNATURE}"`);
}

/** Row format: instances of the one input's value, or objects naming every input; each input's rows stacked. */
function rowValues(instances: unknown, signature: ModelSignature): NamedValue[] {
  if (!Array.isArray(instances)) throw invalid(`"instances" must be a list (one entry per instance), not ${describe(instances)}`);
  if (instances.length === 0) throw invalid('"instances" is empty: send at least one instance');
  const first: unknown = instances[0];
  if (!namesInputs(first)) {
    const only = onlyInput(signature, 'each instance must be an object naming them');
    return [{ name: only, shape: [instances.length, ...nestedShape(first)], data: instances }];
  }
  const names = Object.keys(first);
  const columns = new Map(names.map((name) => [name, new Array<unknown>(instances.length)]));
  for (let i = 0; i < instances.length; i++) {
    const instance: unknown = instances[i];
    if (!namesInputs(instance)) throw invalid(`instances[${i}] is ${describe(instance)}, but instances[0] names inputs: every instance must be an object naming them`);
    const own = Object.keys(instance);
    if (own.length !== names.length || own.some((name) => !columns.has(name))) {
      throw invalid(`instances[${i}] names ${nameList(own)} but instances[0] names ${nameList(names)}: every instance must name the same inputs`);
    }
    for (const name of own) columns.get(name)![i] = instance[name];
  }
  return names.map((name) => {
    const rows = columns.get(name)!;
    return { name, shape: [instances.length, ...nestedShape(rows[0])], data: rows };
  });
}

/** Columnar format: the one input's value, or an object of every input's value. */
function columnValues(inputs: unknown, signature: ModelSignature): NamedValue[] {
  if (namesInputs(inputs)) return Object.entries(inputs).map(([name, value]) => ({ name, ...valueTensor(value) }));
  return [{ name: onlyInput(signature, '"inputs" must be an object naming them'), ...valueTensor(inputs) }];
}

function valueTensor(value: unknown): { shape: number[]; data: unknown } {
  const shape = nestedShape(value);
  // A scalar is a tensor of shape [] and one element: flat `data` of length 1.
  return { shape, data: shape.length === 0 ? [value] : value };
}

/**
 * The shape a JSON value's nesting says, read along its first items. Stops past the deepest nesting the
 * shared decoder accepts, which then refuses the value; a ragged value is refused there too (data-nesting.ts).
 */
export function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  let item = value;
  while (Array.isArray(item) && shape.length <= MAX_DATA_DEPTH) {
    shape.push(item.length);
    item = item[0];
  }
  return shape;
}

/** The model's one input; a model with several needs them named. */
function onlyInput(signature: ModelSignature, need: string): string {
  if (signature.inputs.length === 1) return signature.inputs[0]!.name;
  throw invalid(`model "${signature.name}" takes ${signature.inputs.length} inputs (${nameList(signature.inputs.map((s) => s.name))}): ${need}`);
}

/** An object naming inputs; {"b64": …} is a value (a binary element), as in TF Serving. */
function namesInputs(value: unknown): value is Plain {
  return isPlain(value) && !isBase64Value(value);
}

function isBase64Value(value: unknown): value is { b64: unknown } {
  return isPlain(value) && Object.keys(value).length === 1 && Object.hasOwn(value, 'b64');
}

/** A BYTES input's elements: strings as UTF-8, {"b64": …} decoded; checked against the nesting rule first. */
function bytesElements(name: string, shape: readonly number[], data: unknown): Uint8Array[] {
  return jsonDataLeaves(name, shape, data).map((leaf, i) => {
    if (typeof leaf === 'string') return Buffer.from(leaf, 'utf8');
    if (isBase64Value(leaf) && typeof leaf.b64 === 'string') return base64Bytes(name, i, leaf.b64);
    throw new InfergateError('GW_ERR_INVALID_DATA', `input ${clientText(name)} element ${i} is ${describe(leaf)}; BYTES (DT_STRING) takes a string, or {"b64": "<base64>"} for any bytes`);
  });
}

/** Standard base64 (padding optional), strictly: Node's decoder skips what it cannot read, so the text must survive a round trip. */
function base64Bytes(name: string, index: number, text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new InfergateError('GW_ERR_INVALID_DATA', `input ${clientText(name)} element ${index}: "b64" is not standard base64 (${clientText(text, 32)})`);
  }
  return bytes;
}

function nameList(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((name) => clientText(name, 32));
  return (shown.join(', ') || 'nothing') + (names.length > 8 ? `, … (${names.length})` : '');
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(detail: string): InfergateError {
  return new InfergateError('GW_ERR_INVALID_REQUEST', detail);
}
