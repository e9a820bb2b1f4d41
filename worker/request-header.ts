// The header of a request frame (common/wire.ts), checked field by field
// before the store sees it: decodeFrame checks only the frame's layout, and a
// header is JSON from another process.

import { InfergateError } from '../common/errors.ts';
import type { InferRequestHeader, RequestTag } from '../common/wire.ts';

/** Throws GW_ERR_BAD_FRAME naming the first field the store could not rely on. */
export function checkRequestHeader(header: InferRequestHeader): void {
  const bad = (detail: string): InfergateError => new InfergateError('GW_ERR_BAD_FRAME', `request header ${detail}`);
  if (typeof header.model !== 'string') throw bad('has no model name');
  if (typeof header.version !== 'string') throw bad('has no version string');
  if (header.timeoutMs !== undefined && !(typeof header.timeoutMs === 'number' && header.timeoutMs >= 0)) throw bad('timeoutMs is not a non-negative number');
  if (header.maxOutputBytes !== undefined && !(typeof header.maxOutputBytes === 'number' && header.maxOutputBytes >= 0)) throw bad('maxOutputBytes is not a non-negative number');
  if (header.outputs !== undefined && (!Array.isArray(header.outputs) || !header.outputs.every((o) => typeof o === 'string'))) {
    throw bad('outputs is not a list of names');
  }
  if (header.requests !== undefined && (!Array.isArray(header.requests) || !header.requests.every(isRequestTag))) {
    throw bad('requests is not a list of {id, traceparent?} with string fields');
  }
  for (const t of header.tensors) {
    if (typeof t.name !== 'string' || typeof t.datatype !== 'string' || !Array.isArray(t.shape)) {
      throw bad(`tensor ${JSON.stringify(t.name)} lacks a name, datatype or shape`);
    }
  }
}

const MAX_TAG_CHARS = 512;

/** Request ids and traceparents go into log lines and spans: strings, bounded (the gateway sends sane ones). */
function isRequestTag(tag: unknown): tag is RequestTag {
  if (tag === null || typeof tag !== 'object') return false;
  const { id, traceparent } = tag as Record<string, unknown>;
  return typeof id === 'string' && id.length <= MAX_TAG_CHARS && (traceparent === undefined || (typeof traceparent === 'string' && traceparent.length <= MAX_TAG_CHARS));
}
