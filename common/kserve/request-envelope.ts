// The envelope of a large infer request, read without JSON.parse-ing the body:
// one resumable pass (json-syntax.ts) checks the whole text and notes where
// the values that matter lie; then each small value is parsed from its own
// span and every input's `data` is left as a DataSpan:
//
//   {"id":…,"parameters":{…},"inputs":[{"name":…,"datatype":…,"shape":[…],"data":[ 60 MB ]},…],"outputs":[…]}
//    └─────── parsed ───────┘            └──────────── parsed ────────────┘ └─ DataSpan ─┘    └─ parsed ─┘
//
// The result has the shape JSON.parse would give (last duplicate key wins,
// unknown keys dropped), so check-request.ts runs on it unchanged. The whole
// text is checked (UTF-8, then syntax) before anything is judged, so a body
// that JSON.parse would refuse is GW_ERR_MALFORMED_JSON here too, wherever
// its fault lies. Memory beyond the body is O(model inputs): only the first
// (model inputs + 1) elements of "inputs" are kept, as no valid request has
// more, and check-request.ts fails by that element at the latest (a further
// one is unknown, malformed or a duplicate).

import { isUtf8 } from 'node:buffer';
import { InfergateError } from '../errors.ts';
import type { TimeSlicer } from '../time-slice.ts';
import { JsonSyntaxScanner, type JsonSyntaxHooks } from './json-syntax.ts';
import { runInSteps } from './sliced-steps.ts';
import { parseSpan, type Span } from './span-text.ts';
import { OPEN_BRACKET, OPEN_BRACE } from './json-bytes.ts';

/** Where an input's `data` lies in the JSON text: [start, end) byte offsets. */
export class DataSpan {
  readonly start: number;
  readonly end: number;

  constructor(start: number, end: number) {
    this.start = start;
    this.end = end;
  }
}

type Element = Span & { byte: number; fields: Map<string, Span> };

const ROOT_KEYS = new Set(['id', 'parameters', 'inputs', 'outputs']);
const INPUT_KEYS = new Set(['name', 'datatype', 'shape', 'parameters', 'data']);

/** The request as JSON.parse would give it, `data` values as DataSpans; throws GW_ERR_MALFORMED_JSON. */
export async function readRequestEnvelope(json: Uint8Array, modelInputs: number, slicer: TimeSlicer): Promise<unknown> {
  // TextDecoder (the sync path) drops one leading byte-order mark; so do we.
  const start = json[0] === 0xef && json[1] === 0xbb && json[2] === 0xbf ? 3 : 0;
  let checked = start;
  await runInSteps((maxBytes) => (checked = checkUtf8(json, checked, maxBytes)) === json.byteLength, slicer);
  const recorder = new EnvelopeRecorder(json, modelInputs + 1);
  const scanner = new JsonSyntaxScanner(json, start, json.byteLength, recorder, 3);
  await runInSteps((maxBytes) => scanner.step(maxBytes), slicer);
  return recorder.build();
}

// isUtf8 is simdutf (GB/s); each piece is cut before a lead byte so that no
// multi-byte sequence is split. Returns where the next piece starts.
function checkUtf8(json: Uint8Array, from: number, maxBytes: number): number {
  let to = Math.min(json.byteLength, from + maxBytes * 8);
  for (let back = 0; back < 3 && to < json.byteLength && (json[to]! & 0xc0) === 0x80; back++) to--;
  if (!isUtf8(json.subarray(from, to))) throw new InfergateError('GW_ERR_MALFORMED_JSON', `the body is not valid UTF-8 (between bytes ${from} and ${to})`);
  return to;
}

/** Follows root → "inputs" → each input object, noting the spans of the keys that matter (hook depth 3). */
class EnvelopeRecorder implements JsonSyntaxHooks {
  readonly #json: Uint8Array;
  readonly #maxInputs: number;
  #root: Element = { start: 0, end: 0, byte: 0, fields: new Map() };
  #rootKey: string | undefined;
  #fieldStart = 0;
  /** The start of the last "inputs" array and its first elements. */
  #inputsStart = -1;
  #inputs: Element[] = [];
  #inInputs = false;
  #input: Element | undefined;
  #inputKey: string | undefined;
  #inputFieldStart = 0;

  constructor(json: Uint8Array, maxInputs: number) {
    this.#json = json;
    this.#maxInputs = maxInputs;
  }

  key(depth: number, start: number, end: number, escaped: boolean): void {
    if (depth === 1) this.#rootKey = knownKey(ROOT_KEYS, this.#json, start, end, escaped);
    else if (depth === 3 && this.#input) this.#inputKey = knownKey(INPUT_KEYS, this.#json, start, end, escaped);
  }

  valueStart(depth: number, pos: number, byte: number): void {
    if (depth === 0) this.#root = { start: pos, end: 0, byte, fields: new Map() };
    else if (depth === 1) {
      this.#fieldStart = pos;
      this.#inInputs = this.#rootKey === 'inputs' && byte === OPEN_BRACKET;
      if (this.#inInputs) {
        this.#inputsStart = pos;
        this.#inputs = [];
      }
    } else if (depth === 2 && this.#inInputs) {
      this.#input = undefined;
      if (this.#inputs.length < this.#maxInputs) {
        const element: Element = { start: pos, end: 0, byte, fields: new Map() };
        this.#inputs.push(element);
        if (byte === OPEN_BRACE) this.#input = element;
      }
    } else if (depth === 3 && this.#input) this.#inputFieldStart = pos;
  }

  valueEnd(depth: number, end: number): void {
    if (depth === 0) this.#root.end = end;
    else if (depth === 1) {
      if (this.#rootKey !== undefined) this.#root.fields.set(this.#rootKey, { start: this.#fieldStart, end });
      this.#rootKey = undefined;
      this.#inInputs = false;
    } else if (depth === 2 && this.#inInputs) {
      const last = this.#inputs.at(-1);
      if (last && last.start < end && last.end === 0) last.end = end;
      this.#input = undefined;
    } else if (depth === 3 && this.#input) {
      if (this.#inputKey !== undefined) this.#input.fields.set(this.#inputKey, { start: this.#inputFieldStart, end });
      this.#inputKey = undefined;
    }
  }

  build(): unknown {
    const json = this.#json;
    const root = this.#root;
    if (root.byte !== OPEN_BRACE) return root.byte === OPEN_BRACKET ? [] : parseSpan(json, root, 'the request');
    const request: Record<string, unknown> = {};
    for (const [key, span] of root.fields) {
      if (key !== 'inputs') request[key] = parseSpan(json, span, `"${key}"`);
      else if (span.start === this.#inputsStart) request.inputs = this.#inputs.map((element, i) => buildInput(json, element, i));
      else request.inputs = json[span.start] === OPEN_BRACE ? {} : parseSpan(json, span, '"inputs"');
    }
    return request;
  }
}

function buildInput(json: Uint8Array, element: Element, index: number): unknown {
  if (element.byte === OPEN_BRACKET) return []; // only ever described ("an array")
  if (element.byte !== OPEN_BRACE) return parseSpan(json, element, `inputs[${index}]`);
  const input: Record<string, unknown> = {};
  for (const [key, span] of element.fields) {
    input[key] = key === 'data' ? new DataSpan(span.start, span.end) : parseSpan(json, span, `inputs[${index}].${key}`);
  }
  return input;
}

/** A key's name when it is one of `keys` (keys are short ASCII: a long or non-ASCII key is none of them). */
function knownKey(keys: ReadonlySet<string>, json: Uint8Array, start: number, end: number, escaped: boolean): string | undefined {
  if (end - start > (escaped ? 128 : 20)) return undefined;
  const text = Buffer.from(json.buffer, json.byteOffset + start, end - start).toString('latin1');
  const key = escaped ? (JSON.parse(text) as string) : text.slice(1, -1);
  return keys.has(key) ? key : undefined;
}
