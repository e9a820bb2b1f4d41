// Values of the sliced decoder read back from their byte spans of the body:
// small ones parsed whole, long ones only as far as an error message needs.

import { InfergateError } from '../errors.ts';
import { describe } from './describe.ts';
import { QUOTE, OPEN_BRACE } from './json-bytes.ts';

export type Span = { start: number; end: number };

/** Longest value parsed from its span (every value but `data`: ids, shapes, parameters, outputs). */
export const FIELD_MAX_BYTES = 64 * 1024;

/** JSON.parse of a span; GW_ERR_INVALID_REQUEST naming `where` for one over FIELD_MAX_BYTES. */
export function parseSpan(json: Uint8Array, span: Span, where: string): unknown {
  if (span.end - span.start > FIELD_MAX_BYTES) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `${where} takes ${span.end - span.start} bytes of JSON, over the ${FIELD_MAX_BYTES} read for a field other than "data"`);
  }
  return JSON.parse(utf8Text(json, span.start, span.end));
}

export function utf8Text(json: Uint8Array, start: number, end: number): string {
  return Buffer.from(json.buffer, json.byteOffset + start, end - start).toString('utf8');
}

/** describe() of the value in a span, without parsing a long one. */
export function describeSpan(json: Uint8Array, span: Span): string {
  if (json[span.start] === OPEN_BRACE) return 'an object';
  if (span.end - span.start <= FIELD_MAX_BYTES) return describe(JSON.parse(utf8Text(json, span.start, span.end)));
  if (json[span.start] === QUOTE) return describe(stringPrefix(json, span.start, span.end));
  return `a number written with ${span.end - span.start} characters`;
}

/**
 * The first few hundred bytes of a long JSON string, parsed: describe() shows
 * at most 37 characters, so it says the same of the prefix as of the string.
 * The cut backs off until it falls outside an escape.
 */
export function stringPrefix(json: Uint8Array, start: number, end: number): string {
  for (let cut = Math.min(end - 1, start + 512); ; cut--) {
    try {
      return JSON.parse(`${utf8Text(json, start, cut)}"`) as string;
    } catch {
      // inside an escape: cut one byte earlier
    }
  }
}
