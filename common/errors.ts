// The one error catalog of infergate, shared by the gateway and the workers.
//
// Every error a client or a peer process can see has a stable code, a
// protocol-neutral kind and a one-line summary here, and a section in
// docs/errors.md (a test keeps the two in step). Each front maps kinds to its
// own protocol's statuses (HTTP: common/http-status.ts). Code identifies an
// error; message text is for people and may change. Errors cross the process
// boundary as {code, message}.

/**
 * What went wrong, in words every protocol can map: gRPC's canonical codes
 * where one fits, and the few distinctions HTTP makes beyond them (a body
 * too large, a client too slow to send one, a format it cannot read).
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'failed_precondition'
  | 'not_found'
  | 'aborted'
  | 'unimplemented'
  | 'unsupported_format'
  | 'unauthenticated'
  | 'permission_denied'
  | 'too_large'
  | 'headers_too_large'
  | 'slow_client'
  | 'overloaded'
  | 'rate_limited'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'internal';

export const ERROR_CATALOG = {
  // Routing and transport (client side).
  GW_ERR_ROUTE_NOT_FOUND: { kind: 'not_found', summary: 'no endpoint at this path' },
  GW_ERR_METHOD_NOT_ALLOWED: { kind: 'unimplemented', summary: 'the endpoint does not accept this HTTP method' },
  GW_ERR_UNAUTHORIZED: { kind: 'unauthenticated', summary: 'this route needs credentials: an API key (auth.mode keys), or server.adminToken for the admin routes' },
  GW_ERR_WORKER_TOKEN: { kind: 'unauthenticated', summary: "the worker asks for its shared token (the gateway's workers.remote.token), and this call did not carry it" },
  GW_ERR_FORBIDDEN: { kind: 'permission_denied', summary: 'the caller may not use this route or this model' },
  GW_ERR_HEADERS_TOO_LARGE: { kind: 'headers_too_large', summary: 'the request has more header fields than server.maxHeadersCount' },
  GW_ERR_BODY_TOO_LARGE: { kind: 'too_large', summary: 'request body is larger than the configured limit' },
  GW_ERR_BODY_TIMEOUT: { kind: 'slow_client', summary: "the request body did not arrive within the request's deadline" },
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: { kind: 'unsupported_format', summary: 'request body has a content type the endpoint cannot read' },
  GW_ERR_UNSUPPORTED_ENCODING: { kind: 'unsupported_format', summary: 'request body has a Content-Encoding the gateway cannot decode (it reads gzip, deflate and identity)' },
  GW_ERR_MALFORMED_ENCODING: { kind: 'invalid_argument', summary: 'request body does not decode as its Content-Encoding says' },
  GW_ERR_CORS_ORIGIN: { kind: 'permission_denied', summary: 'a CORS preflight from an origin that server.cors does not allow' },

  // Admin plane.
  GW_ERR_INVALID_ADMIN_REQUEST: { kind: 'invalid_argument', summary: 'an admin request body is not valid; the message names the field' },
  GW_ERR_NO_API_KEYS: { kind: 'not_found', summary: 'auth.mode is off: there are no API keys to reload' },
  GW_ERR_ADMIN_CONFLICT: { kind: 'aborted', summary: "the admin call conflicts with an action in progress on the model (a rollout)" },
  GW_ERR_ROLLOUT_NOT_FOUND: { kind: 'not_found', summary: 'the model has no rollout (in progress, for DELETE)' },

  // Model lookup.
  GW_ERR_MODEL_NOT_FOUND: { kind: 'not_found', summary: 'no model with this name' },
  GW_ERR_VERSION_NOT_FOUND: { kind: 'not_found', summary: 'the model has no version with this name' },
  GW_ERR_MODEL_UNAVAILABLE: { kind: 'failed_precondition', summary: 'the model version could not be loaded or failed its configured warm-up' },

  // Request validation: all answered before anything reaches a worker.
  GW_ERR_MALFORMED_JSON: { kind: 'invalid_argument', summary: 'request body is not valid JSON' },
  GW_ERR_INVALID_REQUEST: { kind: 'invalid_argument', summary: 'request does not follow the inference request schema' },
  GW_ERR_UNKNOWN_INPUT: { kind: 'invalid_argument', summary: 'request names an input the model does not have' },
  GW_ERR_MISSING_INPUT: { kind: 'invalid_argument', summary: 'request lacks an input the model requires' },
  GW_ERR_DUPLICATE_TENSOR: { kind: 'invalid_argument', summary: 'request names the same input or output twice' },
  GW_ERR_UNKNOWN_DATATYPE: { kind: 'invalid_argument', summary: 'datatype is not one of the KServe v2 tensor datatypes' },
  GW_ERR_DATATYPE_MISMATCH: { kind: 'invalid_argument', summary: "input datatype differs from the model's datatype for it" },
  GW_ERR_SHAPE_MISMATCH: { kind: 'invalid_argument', summary: "input shape contradicts the model's signature (rank or a static dim)" },
  GW_ERR_ELEMENT_COUNT: { kind: 'invalid_argument', summary: 'the data elements (their number, or the nesting of their arrays) do not match the shape' },
  GW_ERR_INVALID_DATA: { kind: 'invalid_argument', summary: 'a data element cannot be represented in the tensor datatype' },
  GW_ERR_UNKNOWN_OUTPUT: { kind: 'invalid_argument', summary: 'request asks for an output the model does not have' },
  GW_ERR_BINARY_HEADER_LENGTH: { kind: 'invalid_argument', summary: 'Inference-Header-Content-Length is not a byte count within the body' },
  GW_ERR_BINARY_DATA: { kind: 'invalid_argument', summary: "binary tensor data does not match its input's size, datatype or shape" },
  GW_ERR_REQUEST_TOO_LARGE: { kind: 'too_large', summary: 'the request exceeds a configured limit (rows, elements or the size of a dimension)' },
  GW_ERR_RESPONSE_TOO_LARGE: { kind: 'too_large', summary: 'the answer would exceed limits.maxResponseBytes' },

  // Execution.
  GW_ERR_MODEL_EXECUTION: { kind: 'invalid_argument', summary: 'onnxruntime rejected the request while running the model' },
  GW_ERR_QUEUE_FULL: { kind: 'overloaded', summary: "the model's request queue is full; retry after the Retry-After delay" },
  GW_ERR_OVERLOADED: { kind: 'overloaded', summary: 'the gateway is shedding load; retry after the Retry-After delay' },
  GW_ERR_RATE_LIMITED: { kind: 'rate_limited', summary: 'this client is over its rate limit; retry after the Retry-After delay' },
  GW_ERR_RATE_LIMIT_UNAVAILABLE: { kind: 'unavailable', summary: 'the shared rate limit store (Redis) could not be reached, and rate limiting fails closed' },
  GW_ERR_MODEL_NOT_READY: { kind: 'unavailable', summary: 'no ready replica serves this model' },
  GW_ERR_UPSTREAM_UNAVAILABLE: { kind: 'unavailable', summary: 'every attempt to reach a replica failed' },
  GW_ERR_DEADLINE_EXCEEDED: { kind: 'deadline_exceeded', summary: "the request's deadline passed before it was answered" },
  GW_ERR_CANCELLED: { kind: 'cancelled', summary: 'the client cancelled the request (or went away) before it ran' },
  GW_ERR_SHUTTING_DOWN: { kind: 'unavailable', summary: 'the process is draining and takes no new work' },
  GW_ERR_API_KEYS_UNREADABLE: { kind: 'unavailable', summary: 'the API keys could not be read again; the keys read before stay in force' },
  GW_ERR_CACHE_UNAVAILABLE: { kind: 'unavailable', summary: 'the shared cache tier (Redis) could not be reached for this operation' },
  GW_ERR_INTERNAL: { kind: 'internal', summary: 'an unexpected internal error (a bug: please report it)' },
  GW_ERR_INJECTED_FAULT: { kind: 'internal', summary: 'the worker failed this request on purpose (started with --inject-fault, for chaos tests)' },

  // Gateway ↔ worker wire contract.
  GW_ERR_BAD_FRAME: { kind: 'invalid_argument', summary: 'binary tensor frame is malformed' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);
}

/** An error with a catalogued code; its message is the summary plus what went wrong here. */
export class InfergateError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** For overload answers: when the client may try again (sent as Retry-After). */
  retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail?: string, options?: ErrorOptions) {
    const { summary } = ERROR_CATALOG[code];
    super(detail ? `${summary}: ${detail}` : summary, options);
    this.name = 'InfergateError';
    this.code = code;
    this.kind = ERROR_CATALOG[code].kind;
  }

  /** Rebuilds an error received from a peer process as {code, message}, keeping its message. */
  static fromWire(body: unknown): InfergateError {
    const record = (body ?? {}) as { code?: unknown; message?: unknown };
    const code = isErrorCode(record.code) ? record.code : 'GW_ERR_INTERNAL';
    const error = new InfergateError(code);
    if (typeof record.message === 'string') error.message = record.message;
    return error;
  }

  /** The {code, message} form used between processes. */
  toWire(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Wraps anything thrown into a catalogued error (unknown throws become GW_ERR_INTERNAL). */
export function asInfergateError(err: unknown): InfergateError {
  if (err instanceof InfergateError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InfergateError('GW_ERR_INTERNAL', message, { cause: err });
}

/**
 * A client's text (a model name, a header value, a path) as it may appear in
 * an error message: quoted, and cut to `maxChars` so that a 10 KB name is
 * not echoed back whole.
 */
export function clientText(value: string, maxChars = 64): string {
  if (value.length <= maxChars) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, maxChars))}… (${value.length} characters)`;
}

/** The client-facing JSON body of an error: KServe's {"error"} plus our stable code. */
export function errorBody(err: InfergateError): { error: string; code: ErrorCode } {
  return { error: err.message, code: err.code };
}
