// W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent
// header a client sends is accepted only in its well-formed shape, so that
// what reaches a worker, a span or a log line is never the client's raw text.
//
//   traceparent: {version:2 hex}-{trace-id:32 hex}-{parent-id:16 hex}-{flags:2 hex}
//
// Version ff is invalid; all-zero trace and parent ids are invalid. A future
// version may append fields after the flags ("-…"): they are dropped.

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);

/** The traceparent header in its canonical form, or undefined when absent, repeated or malformed. */
export function saneTraceparent(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, flags] = match;
  if (version === 'ff' || (version === '00' && header.trim().length !== 55)) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return undefined;
  return `00-${traceId}-${parentId}-${flags}`;
}
