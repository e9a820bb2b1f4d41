// The request id (x-request-id) of a request: the client's own when it is a
// plain token, so that a caller can find its request in our logs; otherwise a
// fresh one (`requestIds`). Whatever the id is, it reaches log lines, frames to workers and
// the echoed header, so a client's raw text (newlines that forge log lines,
// control characters, kilobytes) never gets that far: it is replaced, never
// cleaned up or truncated, and never logged.

import { randomBytes } from 'node:crypto';

/** 1 to 128 characters of letters, digits and `._:@/+=-` (UUIDs, ULIDs, base64, `svc/req-1`, …). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The client's id when `header` is one sane value; a generated one (`generate`: `requestIds()` in the gateway)
 * when it is absent, repeated (an array) or anything else.
 */
export function requestIdOf(header: string | string[] | undefined, generate: () => string): string {
  // The length check first: the pattern never scans a 10 KB value.
  if (typeof header === 'string' && header.length <= 128 && SANE_REQUEST_ID.test(header)) return header;
  return generate();
}

/**
 * New request ids: a random 64-bit prefix drawn once per process, then a counter (`5f0c9a1e2b3d4c6f-1`, `-2`, …).
 * Unique across processes and restarts, which is all a log join needs; a UUID per request would draw from the
 * CSPRNG on the hot path for an unguessability nobody uses.
 */
export function requestIds(prefix: string = randomBytes(8).toString('hex')): () => string {
  let counter = 0;
  return () => `${prefix}-${(++counter).toString(36)}`;
}
