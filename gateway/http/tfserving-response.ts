// A predict answer in TF Serving's JSON, in the format the request came in.
// Pure: the text is made as a sequence of pieces, which the route joins
// (small answers) or sends in time slices (large ones).
//
//   row       {"predictions": [row, row, …]}       a row is the one output's value, or {output: value}
//   columnar  {"outputs": value | {output: value}}  each value is its output's whole tensor
//
// Values are nested as their shapes (TF Serving's JSON has no flat form).
// Numbers are written as the KServe answers write them (render-tensor.ts):
// NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity" (TF
// Serving writes bare NaN/Infinity tokens, which no JSON parser reads),
// 64-bit integers as exact digits. BYTES (DT_STRING) elements are strings,
// or {"b64": …} for an output whose name ends in "_bytes" (TF Serving's
// rule) or bytes that are not UTF-8 (which a string would mangle).
//
// Nesting is written between elements, never by building nested arrays:
// before element i, one "]" and "[" per dimension that i starts anew, e.g.
// shape [2,3]: "[[" a,b,c "],[" d,e,f "]]". Elements come from the flat text
// render-tensor.ts makes, PIECE_ELEMENTS at a time, so a piece costs about
// what a KServe piece costs.

import { isUtf8 } from 'node:buffer';
import { datatypeByKServe, elementCount } from '../../common/datatypes.ts';
import { InfergateError } from '../../common/errors.ts';
import { PIECE_ELEMENTS, tensorDataToJson } from '../../common/kserve/render-tensor.ts';
import type { TimeSlicer } from '../../common/time-slice.ts';
import type { Tensor } from '../../common/wire.ts';
import type { PredictFormat } from './tfserving-request.ts';

/** Most arrays an empty value's nesting may write ([2,0] is two; [1e6,1e6,0] would be 10^12). */
const MAX_EMPTY_ARRAYS = 1 << 20;

/** Pieces are gathered into Buffers of about this many characters before they are handed out. */
const CHUNK_CHARS = 64 * 1024;

/** The elements [from, to) of a tensor, each as its JSON text. */
type ElementTexts = (from: number, to: number) => string[];

/**
 * The answer's text, in pieces. Everything that can fail (a frame whose bytes do not fit its shape; outputs whose
 * first dims differ, which rows cannot carry) fails here, before the first piece: a reply that has started is
 * never cut.
 */
export function predictResponsePieces(tensors: readonly Tensor[], format: PredictFormat): Iterable<string> {
  const sources = tensors.map((t) => ({ tensor: t, texts: elementTexts(t) }));
  if (format === 'columnar') return columnarPieces(sources);
  const rows = tensors[0]?.shape[0] ?? 0;
  for (const t of tensors) {
    if (t.shape.length === 0 || t.shape[0] !== rows) {
      // TF Serving refuses the same (INVALID_ARGUMENT): rows need every output to have one entry per instance.
      const dims = tensors.map((o) => `"${o.name}" [${o.shape.join(',')}]`).join(', ');
      throw new InfergateError('GW_ERR_INVALID_REQUEST', `the row format ("instances") needs every output to have the same first dim, one entry per instance; the outputs are ${dims}: send "inputs" (columnar format) instead`);
    }
  }
  return sources.length === 1 ? wrapped('{"predictions":', valuePieces(sources[0]!), '}') : rowPieces(sources, rows);
}

/** The pieces joined in one Buffer (a small answer). */
export function joinPieces(pieces: Iterable<string>): Buffer {
  let text = '';
  for (const piece of pieces) text += piece;
  return Buffer.from(text);
}

/** The pieces as Buffers of about CHUNK_CHARS, awaiting slicer.pause() between pieces (a large answer). */
export async function* slicedPieces(pieces: Iterable<string>, slicer: TimeSlicer): AsyncGenerator<Buffer> {
  let text = '';
  for (const piece of pieces) {
    text += piece;
    if (text.length >= CHUNK_CHARS) {
      yield Buffer.from(text);
      text = '';
    }
    const pause = slicer.pause();
    if (pause) await pause;
  }
  if (text !== '') yield Buffer.from(text);
}

type Source = { tensor: Tensor; texts: ElementTexts };

function* wrapped(before: string, inner: Iterable<string>, after: string): Generator<string> {
  yield before;
  yield* inner;
  yield after;
}

function* columnarPieces(sources: readonly Source[]): Generator<string> {
  if (sources.length === 1) {
    yield* wrapped('{"outputs":', valuePieces(sources[0]!), '}');
    return;
  }
  let open = '{"outputs":{';
  for (const source of sources) {
    yield `${open}${JSON.stringify(source.tensor.name)}:`;
    yield* valuePieces(source);
    open = ',';
  }
  yield sources.length === 0 ? '{"outputs":{}}' : '}}';
}

/** Several outputs in rows: [{"a": a[0], "b": b[0]}, …]. */
function* rowPieces(sources: readonly Source[], rows: number): Generator<string> {
  yield '{"predictions":[';
  for (let r = 0; r < rows; r++) {
    let open = r === 0 ? '{' : ',{';
    for (const { tensor, texts } of sources) {
      const rowShape = tensor.shape.slice(1);
      yield `${open}${JSON.stringify(tensor.name)}:`;
      yield* nestedPieces(texts, r * elementCount(rowShape), rowShape);
      open = ',';
    }
    yield '}';
  }
  yield ']}';
}

function valuePieces({ tensor, texts }: Source): Generator<string> {
  return nestedPieces(texts, 0, tensor.shape);
}

/** Elements [from, from + Π dims) nested as `dims`; a scalar (dims []) is its one element. */
function* nestedPieces(texts: ElementTexts, from: number, dims: readonly number[]): Generator<string> {
  const rank = dims.length;
  if (rank === 0) {
    yield texts(from, from + 1)[0]!;
    return;
  }
  const count = elementCount(dims);
  if (count === 0) {
    yield emptyNesting(dims);
    return;
  }
  // strides[d]: the elements under one item of dim d. Before element i, a "," or, where i starts a new
  // innermost vector, one "]" and "[" around it for each dim d < rank-1 whose stride divides i.
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * dims[d + 1]!;
  const inner = dims[rank - 1]!;
  const separator = (i: number): string => {
    if (i % inner !== 0) return ',';
    let reopened = 0;
    for (let d = 0; d < rank - 1; d++) if (i % strides[d]! === 0) reopened++;
    return `${']'.repeat(reopened)},${'['.repeat(reopened)}`;
  };
  for (let at = 0; at < count; at += PIECE_ELEMENTS) {
    const end = Math.min(count, at + PIECE_ELEMENTS);
    const chunk = texts(from + at, from + end);
    let piece = at === 0 ? '['.repeat(rank) : '';
    // Segments run to the next innermost boundary (or the piece's end): their elements are joined in one call.
    for (let i = at; i < end; ) {
      if (i > 0) piece += separator(i);
      const segmentEnd = Math.min(end, (Math.floor(i / inner) + 1) * inner);
      piece += chunk.slice(i - at, segmentEnd - at).join(',');
      i = segmentEnd;
    }
    if (end === count) piece += ']'.repeat(rank);
    yield piece;
  }
}

/** The empty arrays a value with no elements is written as (its dims before the first 0 multiplied); throws beyond a bound. */
function emptyArrays(dims: readonly number[]): number {
  const zero = dims.indexOf(0);
  let arrays = 1;
  for (let d = 0; d < zero; d++) arrays *= dims[d]!;
  if (arrays > MAX_EMPTY_ARRAYS) throw new InfergateError('GW_ERR_RESPONSE_TOO_LARGE', `an empty output of shape [${dims.join(',')}] would be written as ${arrays} JSON arrays`);
  return arrays;
}

/** The nesting of a value with no elements: [0] is [], [2,0,3] is [[],[]]. */
function emptyNesting(dims: readonly number[]): string {
  emptyArrays(dims);
  const zero = dims.indexOf(0);
  let text = '[]';
  for (let d = zero - 1; d >= 0; d--) text = `[${new Array<string>(dims[d]!).fill(text).join(',')}]`;
  return text;
}

/** Each element's JSON text on demand; the tensor's bytes are checked against its shape at once. */
function elementTexts(tensor: Tensor): ElementTexts {
  const count = elementCount(tensor.shape);
  if (count === 0) emptyArrays(tensor.shape);
  if (tensor.datatype === 'BYTES') return bytesTexts(tensor, count);
  const width = datatypeByKServe(tensor.datatype)?.bytesPerElement;
  if (width === undefined || tensor.data.byteLength !== count * width) {
    throw new InfergateError('GW_ERR_INTERNAL', `output "${tensor.name}" has ${tensor.data.byteLength} bytes, which do not fit ${tensor.datatype} [${tensor.shape.join(',')}]`);
  }
  return (from, to) => {
    if (to <= from) return [];
    // The KServe renderer's flat text of the range; numbers and "NaN" strings hold no comma.
    const text = tensorDataToJson({ name: tensor.name, datatype: tensor.datatype, shape: [to - from], data: tensor.data.subarray(from * width, to * width) });
    return text.slice(1, -1).split(',');
  };
}

function bytesTexts(tensor: Tensor, count: number): ElementTexts {
  const { data } = tensor;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const starts = new Array<number>(count + 1);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = offset + 4 <= view.byteLength ? view.readUInt32LE(offset) : -1;
    if (length < 0 || offset + 4 + length > view.byteLength) throw new InfergateError('GW_ERR_INTERNAL', `output "${tensor.name}" BYTES element ${i} overruns its ${view.byteLength} bytes`);
    starts[i] = offset;
    offset += 4 + length;
  }
  if (offset !== view.byteLength) throw new InfergateError('GW_ERR_INTERNAL', `output "${tensor.name}" has ${view.byteLength - offset} bytes after its ${count} BYTES elements`);
  const asBase64 = tensor.name.endsWith('_bytes');
  return (from, to) => {
    const texts: string[] = [];
    for (let i = from; i < to; i++) {
      const bytes = view.subarray(starts[i]! + 4, starts[i]! + 4 + view.readUInt32LE(starts[i]!));
      texts.push(asBase64 || !isUtf8(bytes) ? `{"b64":"${bytes.toString('base64')}"}` : JSON.stringify(bytes.toString('utf8')));
    }
    return texts;
  };
}
