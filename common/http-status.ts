// The HTTP front's map from an error's protocol-neutral kind to its status.
// The gateway's KServe v2 REST and TF Serving REST routes and the worker's
// HTTP routes (and the worker's mux error frames, which carry an HTTP status)
// answer by it; a gRPC front brings its own map. TF Serving's own map
// (canonical code → HTTP) gives the same status for every kind it has a code
// for (test/gateway/http/tfserving-errors.test.ts).

import type { ErrorKind, InfergateError } from './errors.ts';

const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid_argument: 400,
  // The protocol's own choice for a model version that cannot serve (KServe readiness also answers 400).
  failed_precondition: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  // gRPC's ABORTED (a concurrency conflict) is HTTP's 409 Conflict.
  aborted: 409,
  unimplemented: 405,
  slow_client: 408,
  too_large: 413,
  // RFC 6585 §5: Request Header Fields Too Large, apart from a body too large.
  headers_too_large: 431,
  unsupported_format: 415,
  internal: 500,
  overloaded: 503,
  // RFC 6585 §4: Too Many Requests (one client over its limit; 503 is the gateway's own overload).
  rate_limited: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  // NGINX's "client closed request": nobody reads it, but the metrics and logs count it apart from real failures.
  cancelled: 499,
};

export function httpStatusOf(error: Pick<InfergateError, 'kind'>): number {
  return HTTP_STATUS[error.kind];
}

/** The status an error kind answers with (for tables of codes and docs). */
export function httpStatusOfKind(kind: ErrorKind): number {
  return HTTP_STATUS[kind];
}
