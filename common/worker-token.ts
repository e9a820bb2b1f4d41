// The shared worker token: what a remote worker asks of whoever calls it, so
// that nobody but the fleet's gateways can run its models. A gateway sends it
// once per mux connection (a hello message before any request) and on every
// HTTP call (Authorization: Bearer). Compared in constant time, over SHA-256
// digests so that the length of the token leaks nothing either.

import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether `given` is the token; false when nothing was given. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/** The token of an `Authorization: Bearer <token>` header, if it carries one. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
