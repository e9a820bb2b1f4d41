// Encodes a KServe v2 inference response:
//
//   {"model_name":…,"model_version":…,"id"?:…,"parameters"?:{…},
//    "outputs":[{"name":…,"datatype":…,"shape":[…],"data":[…]}, …]}
//
// `data` is flat, row-major, written by render-tensor.ts straight from the
// tensor bytes; the envelope around it is spliced as text so the (possibly
// large) data arrays are never re-parsed or re-serialized.
//
// Small answers are encoded in one call (encodeInferResponse,
// encodeBinaryInferResponse). Large ones are rendered in time slices
// (renderInferResponse, renderBinaryInferResponse): the same text, made by the
// same piece generator, in Buffers of about RENDER_CHUNK_BYTES, each costing
// about a slice, never one string for a whole tensor. Every output's bytes
// are checked before the first piece, so a stream never stops on a bad frame.

import type { TimeSlicer } from '../time-slice.ts';
import type { Tensor } from '../wire.ts';
import { joinBinaryBody } from './binary-data.ts';
import { checkTensorBytes, PIECE_ELEMENTS, tensorDataJsonPieces, tensorDataToJson } from './render-tensor.ts';

export type InferResponse = {
  modelName: string;
  modelVersion: string;
  /** The request's "id", echoed when the request had one. */
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: readonly Tensor[];
};

/** Rendered pieces are gathered into Buffers of about this size before they are handed out. */
export const RENDER_CHUNK_BYTES = 64 * 1024;

/**
 * The binary tensor data extension's answer: outputs named in `binary` carry
 * `parameters.binary_data_size` instead of `data`, and their raw bytes follow
 * the JSON in output order; `headerLength` goes in Inference-Header-Content-Length.
 */
export function encodeBinaryInferResponse(response: InferResponse, binary: ReadonlySet<string>): { body: Buffer; headerLength: number } {
  return joinBinaryBody(encodeInferResponseText(response, binary), binaryTensors(response, binary));
}

export function encodeInferResponse(response: InferResponse, binary?: ReadonlySet<string>): Buffer {
  const { text, ascii } = encodeInferResponseText(response, binary);
  return Buffer.from(text, ascii ? 'latin1' : 'utf8');
}

/**
 * encodeInferResponse's answer as text, and whether it is all ASCII. An HTTP front hands such text to Node with its
 * headers: Node joins a string body to the header block and writes both in one plain write, where a Buffer body
 * costs a second chunk and a writev (about 4 µs of CPU per answer: docs/performance.md, "Answers as one write").
 */
export function encodeInferResponseText(response: InferResponse, binary?: ReadonlySet<string>): { text: string; ascii: boolean } {
  let text = '';
  let ascii = true;
  for (const piece of responsePieces(response, binary, false)) {
    if (!piece) continue;
    text += piece.text;
    if (!piece.ascii) ascii &&= isAscii(piece.text);
  }
  return { text, ascii };
}

// Envelope pieces are short (names, an id, parameters): one regex test each is cheaper than a UTF-8 length of the whole.
function isAscii(text: string): boolean {
  return !/[^\x00-\x7f]/.test(text);
}

/** encodeInferResponse's bytes as Buffers of about RENDER_CHUNK_BYTES, awaiting slicer.pause() between pieces. */
export async function* renderInferResponse(response: InferResponse, slicer: TimeSlicer, binary?: ReadonlySet<string>): AsyncGenerator<Buffer> {
  let text: string[] = [];
  let ascii: boolean[] = [];
  let chars = 0;
  for (const piece of responsePieces(response, binary, true)) {
    if (piece) {
      text.push(piece.text);
      ascii.push(piece.ascii);
      chars += piece.text.length;
      if (chars >= RENDER_CHUNK_BYTES) {
        yield concatText(text, ascii);
        text = [];
        ascii = [];
        chars = 0;
      }
    }
    await slicer.pause();
  }
  if (text.length > 0) yield concatText(text, ascii);
}

/** encodeBinaryInferResponse in slices: the JSON head rendered piece by piece; binary tensors as they are, never copied. */
export async function renderBinaryInferResponse(
  response: InferResponse,
  binary: ReadonlySet<string>,
  slicer: TimeSlicer,
): Promise<{ head: Buffer; tensors: Uint8Array[]; headerLength: number }> {
  const pieces: Buffer[] = [];
  for await (const piece of renderInferResponse(response, slicer, binary)) pieces.push(piece);
  const head = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  return { head, tensors: binaryTensors(response, binary), headerLength: head.byteLength };
}

function binaryTensors(response: InferResponse, binary: ReadonlySet<string>): Uint8Array[] {
  return response.outputs.filter((o) => binary.has(o.name)).map((o) => o.data);
}

/** A piece of the answer's text; `ascii` when known to be ASCII (numeric data: digits, signs, "e", "NaN", "true"…). */
type Piece = { text: string; ascii: boolean };

/** The answer's text in order; `sliced` cuts data into pieces and yields undefined at points where a renderer may pause. */
function* responsePieces(response: InferResponse, binary: ReadonlySet<string> | undefined, sliced: boolean): Generator<Piece | undefined> {
  if (sliced) {
    for (const output of response.outputs) {
      if (binary?.has(output.name)) continue;
      for (const _ of checkTensorBytes(output)) yield undefined;
    }
  }
  const put = (text: string): Piece => ({ text, ascii: false });
  yield put(`{"model_name":${JSON.stringify(response.modelName)},"model_version":${JSON.stringify(response.modelVersion)}`);
  if (response.id !== undefined) yield put(`,"id":${JSON.stringify(response.id)}`);
  if (response.parameters !== undefined) yield put(`,"parameters":${JSON.stringify(response.parameters)}`);
  yield put(',"outputs":[');
  for (let i = 0; i < response.outputs.length; i++) {
    const output = response.outputs[i]!;
    const head = `${i === 0 ? '' : ','}{"name":${JSON.stringify(output.name)},"datatype":${JSON.stringify(output.datatype)},"shape":${JSON.stringify(output.shape)}`;
    if (binary?.has(output.name)) {
      yield put(`${head},"parameters":{"binary_data_size":${output.data.byteLength}}}`);
      continue;
    }
    yield put(`${head},"data":`);
    const ascii = output.datatype !== 'BYTES';
    if (!sliced) yield { text: tensorDataToJson(output), ascii };
    else for (const text of tensorDataJsonPieces(output, PIECE_ELEMENTS)) yield text ? { text, ascii } : undefined;
    yield put('}');
  }
  yield put(']}');
}

// Fast path (benchmarks/micro/json-tensor.ts; docs/performance.md): writing
// each piece into one buffer sized up front avoids Buffer.from(a + b + c),
// which first flattens the multi-megabyte rope; ASCII pieces are sized by
// .length and copied as latin1 (no UTF-8 scan).
function concatText(text: readonly string[], ascii: readonly boolean[]): Buffer {
  let total = 0;
  for (let i = 0; i < text.length; i++) total += ascii[i] ? text[i]!.length : Buffer.byteLength(text[i]!, 'utf8');
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < text.length; i++) {
    offset += out.write(text[i]!, offset, ascii[i] ? 'latin1' : 'utf8');
  }
  return out;
}
