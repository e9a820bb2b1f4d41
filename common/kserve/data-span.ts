// One input's `data`, read from its span of the body in steps, never as one
// JS value: a byte scanner feeds the nesting rule (data-nesting.ts) and cuts
// the leaves into chunks; each chunk is copied to a scratch buffer with its
// structural brackets blanked, parsed as one flat array and put into the
// tensor (json-tensor.ts), so number and string semantics are JSON.parse's.
//
//   [[1.5,"NaN"],[3,4]]   ──chunk──▶   " 1.5,"NaN" , 3,4"   ──"["+…+"]"──▶ JSON.parse ──▶ sink.put(values, at)
//
// Blanking brackets is sound because the nesting is checked first, byte by
// byte: a chunk is parsed only after every bracket in it passed the rule, and
// data that passes has no empty array (unless it holds no element at all, when
// nothing is converted), so exactly one ',' separates consecutive leaves.
// Strings are tracked (BYTES, INT64 digits, "NaN" may hold '[' ',' '"' '\'),
// and an object leaf is skipped whole. A chunk holds the leaves that start
// within DATA_CHUNK_BYTES of its first (a short JSON.parse); a leaf longer
// than LONG_LEAF_BYTES is never parsed: a long BYTES string is unescaped
// straight into the tensor in steps (json-string-bytes.ts), any other long
// leaf is an invalid element. So scratch memory stays under 128 KiB whatever
// the body holds.
//
// Conversion errors (GW_ERR_INVALID_DATA) are returned, not thrown: the
// decoder reports one only after every input's nesting passed, as the sync
// path checks all counts before converting any value.

import type { KServeDatatype } from '../datatypes.ts';
import { elementCount } from '../datatypes.ts';
import { InfergateError } from '../errors.ts';
import type { TimeSlicer } from '../time-slice.ts';
import { DataNesting, dataNotAnArray } from './data-nesting.ts';
import { BytesSink, elementSink, type ElementSink } from './json-tensor.ts';
import { parseSimpleNumbers } from './json-numbers.ts';
import { JsonStringWriter } from './json-string-bytes.ts';
import type { DataSpan } from './request-envelope.ts';
import { runInSteps } from './sliced-steps.ts';
import { describeSpan, stringPrefix } from './span-text.ts';
import { QUOTE, COMMA, OPEN_BRACKET, BACKSLASH, CLOSE_BRACKET, OPEN_BRACE } from './json-bytes.ts';

/** A chunk gathers the leaves starting within this many bytes of its first: one JSON.parse of it fits in a step (docs/performance.md). */
export const DATA_CHUNK_BYTES = 64 * 1024;
/** Leaves longer than this are never JSON.parse'd (see above). */
export const LONG_LEAF_BYTES = 64 * 1024;

export type DataSpanResult = { bytes?: Uint8Array; invalid?: InfergateError };

/**
 * Checks `data` against the nesting rule (throws GW_ERR_INVALID_REQUEST or
 * GW_ERR_ELEMENT_COUNT) and, when `convert`, builds the tensor bytes or
 * returns the first GW_ERR_INVALID_DATA.
 */
export async function readDataSpan(
  json: Uint8Array,
  span: DataSpan,
  input: { name: string; datatype: KServeDatatype; shape: readonly number[] },
  convert: boolean,
  slicer: TimeSlicer,
): Promise<DataSpanResult> {
  if (json[span.start] !== OPEN_BRACKET) throw dataNotAnArray(input.name, describeSpan(json, span));
  const reader = new DataSpanReader(json, span, input, convert);
  await runInSteps((maxBytes) => reader.step(maxBytes), slicer);
  return reader.result();
}

// What the scanner is inside of.
const BETWEEN = 0; // between leaves: brackets, commas, whitespace
const STRING = 1;
const OBJECT = 2;
const SCALAR = 3; // a number, true, false or null

class DataSpanReader {
  readonly #json: Uint8Array;
  readonly #end: number;
  readonly #name: string;
  readonly #count: number;
  readonly #nesting: DataNesting;
  #sink: ElementSink | undefined;
  #invalid: InfergateError | undefined;
  #pos: number;
  #in = BETWEEN;
  #leafStart = 0;
  #leaves = 0;
  #objectDepth = 0;
  #objectInString = false;
  // The pending chunk: its first leaf's start and index, the end of its last leaf, the brackets in it.
  #chunkStart = 0;
  #chunkFirst = 0;
  #chunkLeaves = 0;
  #chunkEnd = 0;
  #brackets = new Int32Array(256);
  #bracketCount = 0;
  #scratch: Buffer | undefined;
  #numbers: Float64Array | undefined;
  #long: JsonStringWriter | undefined;
  #parsed = false;

  constructor(json: Uint8Array, span: DataSpan, input: { name: string; datatype: KServeDatatype; shape: readonly number[] }, convert: boolean) {
    this.#json = json;
    this.#pos = span.start;
    this.#end = span.end;
    this.#name = input.name;
    this.#count = elementCount(input.shape);
    this.#nesting = new DataNesting(input.name, input.shape);
    // A BYTES tensor is at most 4 bytes per element plus the span's bytes: escapes only shrink.
    if (convert) this.#sink = elementSink(input.name, input.datatype, this.#count, 4 * this.#count + span.end - span.start);
  }

  /** Scans about `maxBytes` more and parses at most one chunk; true when `data` was read to its end. */
  step(maxBytes: number): boolean {
    if (this.#long) return this.#longStep(maxBytes);
    const json = this.#json;
    const limit = Math.min(this.#end, this.#pos + maxBytes);
    let p = this.#pos;
    while (p < limit && !this.#parsed && !this.#long) {
      const state = this.#in;
      if (state === SCALAR) {
        while (p < limit) {
          const c = json[p]!;
          if (c === COMMA || c === CLOSE_BRACKET || c <= 0x20) break;
          p++;
        }
        if (p < limit) this.#leafEnded(p);
      } else if (state === STRING) {
        while (p < limit && json[p] !== QUOTE) p += json[p] === BACKSLASH ? 2 : 1;
        if (p < limit) this.#leafEnded(++p);
      } else if (state === OBJECT) {
        p = this.#objectLeaf(p, limit);
      } else {
        const c = json[p]!;
        if (c === COMMA || c <= 0x20) p++;
        else if (c === OPEN_BRACKET || c === CLOSE_BRACKET) {
          if (c === OPEN_BRACKET) this.#nesting.open();
          else this.#nesting.close();
          if (this.#chunkLeaves > 0) this.#bracket(p);
          p++;
        } else {
          this.#nesting.leaves(1);
          this.#leafBegan(p);
          if (c === QUOTE) this.#in = STRING;
          else if (c === OPEN_BRACE) {
            this.#in = OBJECT;
            this.#objectDepth = 1;
          } else {
            // Most leaves are numbers: read one here rather than through another turn of the loop.
            p++;
            while (p < limit) {
              const d = json[p]!;
              if (d === COMMA || d === CLOSE_BRACKET || d <= 0x20) break;
              p++;
            }
            if (p < limit) this.#leafEnded(p);
            else this.#in = SCALAR;
            continue;
          }
          p++;
        }
      }
    }
    this.#pos = p;
    this.#parsed = false;
    if (p < this.#end || this.#long) return false;
    this.#nesting.finish();
    if (this.#chunkLeaves > 0) this.#parseChunk();
    return true;
  }

  result(): DataSpanResult {
    if (this.#invalid) return { invalid: this.#invalid };
    return this.#sink ? { bytes: this.#sink.bytes() } : {};
  }

  #objectLeaf(p: number, limit: number): number {
    const json = this.#json;
    while (p < limit) {
      const c = json[p++]!;
      if (this.#objectInString) {
        if (c === QUOTE) this.#objectInString = false;
        else if (c === BACKSLASH) p++;
      } else if (c === QUOTE) this.#objectInString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.#objectDepth++;
      else if ((c === 0x7d || c === CLOSE_BRACKET) && --this.#objectDepth === 0) {
        this.#leafEnded(p);
        break;
      }
    }
    return p;
  }

  #leafBegan(start: number): void {
    this.#leafStart = start;
    this.#leaves++;
    if (!this.#sink) return;
    if (this.#chunkLeaves > 0 && start - this.#chunkStart > DATA_CHUNK_BYTES) this.#parseChunk();
    if (this.#chunkLeaves === 0) {
      this.#chunkStart = start;
      this.#chunkFirst = this.#leaves - 1;
      this.#bracketCount = 0;
    }
  }

  #leafEnded(end: number): void {
    this.#in = BETWEEN;
    if (!this.#sink) return;
    if (end - this.#leafStart <= LONG_LEAF_BYTES) {
      this.#chunkLeaves++;
      this.#chunkEnd = end;
      return;
    }
    if (this.#chunkLeaves > 0) this.#parseChunk();
    this.#longLeaf(this.#leafStart, end, this.#leaves - 1);
  }

  #bracket(p: number): void {
    if (this.#bracketCount === this.#brackets.length) {
      const grown = new Int32Array(this.#brackets.length * 2);
      grown.set(this.#brackets);
      this.#brackets = grown;
    }
    this.#brackets[this.#bracketCount++] = p;
  }

  #parseChunk(): void {
    const from = this.#chunkStart;
    const to = this.#chunkEnd;
    this.#chunkLeaves = 0;
    this.#parsed = true;
    const numbers = (this.#numbers ??= new Float64Array((DATA_CHUNK_BYTES + LONG_LEAF_BYTES) / 2 + 1));
    const count = parseSimpleNumbers(this.#json, from, to, numbers);
    if (count >= 0) {
      this.#put(numbers.subarray(0, count), this.#chunkFirst);
      return;
    }
    const scratch = (this.#scratch ??= Buffer.allocUnsafe(DATA_CHUNK_BYTES + LONG_LEAF_BYTES));
    scratch.set(this.#json.subarray(from, to));
    for (let k = 0; k < this.#bracketCount; k++) {
      const at = this.#brackets[k]!;
      if (at < to) scratch[at - from] = 0x20;
    }
    this.#put(JSON.parse(`[${scratch.toString('utf8', 0, to - from)}]`) as unknown[], this.#chunkFirst);
  }

  #put(values: ArrayLike<unknown>, at: number): void {
    // More leaves than the shape holds: the nesting check refuses this data before the decoder returns.
    if (!this.#sink || at + values.length > this.#count) {
      this.#sink = undefined;
      return;
    }
    try {
      this.#sink.put(values, at);
    } catch (err) {
      if (!(err instanceof InfergateError) || err.code !== 'GW_ERR_INVALID_DATA') throw err;
      this.#invalid = err;
      this.#sink = undefined;
    }
  }

  #longLeaf(start: number, end: number, index: number): void {
    const json = this.#json;
    const sink = this.#sink;
    if (json[start] === QUOTE && sink instanceof BytesSink && index < this.#count) {
      sink.beginElement(index);
      this.#long = new JsonStringWriter(json, start + 1, end - 1, sink.buffer, sink.offset);
      return;
    }
    if (json[start] === QUOTE || json[start] === OPEN_BRACE) {
      this.#put([json[start] === OPEN_BRACE ? {} : stringPrefix(json, start, end)], index);
      return;
    }
    this.#invalid = new InfergateError('GW_ERR_INVALID_DATA', `input "${this.#name}" element ${index} is a number written with ${end - start} characters, more than the ${LONG_LEAF_BYTES} read for one element`);
    this.#sink = undefined;
  }

  #longStep(maxBytes: number): boolean {
    const writer = this.#long!;
    if (!writer.step(maxBytes)) return false;
    const sink = this.#sink as BytesSink;
    sink.offset = writer.offset;
    sink.endElement();
    this.#long = undefined;
    return false;
  }
}
