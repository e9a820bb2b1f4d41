// The one error catalog of infergate, shared by the gateway and the workers.
//
// Every error a client or a peer process can see has a stable code, an HTTP
// status and a one-line summary here, and a section in docs/errors.md (a test
// keeps the two in step). Code identifies an error; message text is for people
// and may change. Errors cross the process boundary as {code, message}.

export const ERROR_CATALOG = {
  // Routing and transport (client side).
  GW_ERR_ROUTE_NOT_FOUND: { status: 404, summary: 'no endpoint at this path' },
  GW_ERR_METHOD_NOT_ALLOWED: { status: 405, summary: 'the endpoint does not accept this HTTP method' },
  GW_ERR_UNAUTHORIZED: { status: 401, summary: 'admin routes need the bearer token configured as server.adminToken' },
  GW_ERR_FORBIDDEN: { status: 403, summary: 'admin routes refuse this client' },
  GW_ERR_BODY_TOO_LARGE: { status: 413, summary: 'request body is larger than the configured limit' },
  GW_ERR_BODY_TIMEOUT: { status: 408, summary: "the request body did not arrive within the request's deadline" },
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'request body has a content type the endpoint cannot read' },

  // Model lookup.
  GW_ERR_MODEL_NOT_FOUND: { status: 404, summary: 'no model with this name' },
  GW_ERR_VERSION_NOT_FOUND: { status: 404, summary: 'the model has no version with this name' },
  GW_ERR_MODEL_UNAVAILABLE: { status: 400, summary: 'the model version could not be loaded or failed its configured warm-up' },

  // Request validation: all answered before anything reaches a worker.
  GW_ERR_MALFORMED_JSON: { status: 400, summary: 'request body is not valid JSON' },
  GW_ERR_INVALID_REQUEST: { status: 400, summary: 'request does not follow the inference request schema' },
  GW_ERR_UNKNOWN_INPUT: { status: 400, summary: 'request names an input the model does not have' },
  GW_ERR_MISSING_INPUT: { status: 400, summary: 'request lacks an input the model requires' },
  GW_ERR_DUPLICATE_TENSOR: { status: 400, summary: 'request names the same input or output twice' },
  GW_ERR_UNKNOWN_DATATYPE: { status: 400, summary: 'datatype is not one of the KServe v2 tensor datatypes' },
  GW_ERR_DATATYPE_MISMATCH: { status: 400, summary: "input datatype differs from the model's datatype for it" },
  GW_ERR_SHAPE_MISMATCH: { status: 400, summary: "input shape contradicts the model's signature (rank or a static dim)" },
  GW_ERR_ELEMENT_COUNT: { status: 400, summary: 'the data elements (their number, or the nesting of their arrays) do not match the shape' },
  GW_ERR_INVALID_DATA: { status: 400, summary: 'a data element cannot be represented in the tensor datatype' },
  GW_ERR_UNKNOWN_OUTPUT: { status: 400, summary: 'request asks for an output the model does not have' },
  GW_ERR_BINARY_HEADER_LENGTH: { status: 400, summary: 'Inference-Header-Content-Length is not a byte count within the body' },
  GW_ERR_BINARY_DATA: { status: 400, summary: "binary tensor data does not match its input's size, datatype or shape" },
  GW_ERR_REQUEST_TOO_LARGE: { status: 413, summary: 'the request exceeds a configured limit (rows, elements or the size of a dimension)' },
  GW_ERR_RESPONSE_TOO_LARGE: { status: 413, summary: 'the answer would exceed limits.maxResponseBytes' },

  // Execution.
  GW_ERR_MODEL_EXECUTION: { status: 400, summary: 'onnxruntime rejected the request while running the model' },
  GW_ERR_QUEUE_FULL: { status: 503, summary: "the model's request queue is full; retry after the Retry-After delay" },
  GW_ERR_OVERLOADED: { status: 503, summary: 'the gateway is shedding load; retry after the Retry-After delay' },
  GW_ERR_MODEL_NOT_READY: { status: 503, summary: 'no ready replica serves this model' },
  GW_ERR_UPSTREAM_UNAVAILABLE: { status: 503, summary: 'every attempt to reach a replica failed' },
  GW_ERR_DEADLINE_EXCEEDED: { status: 504, summary: "the request's deadline passed before it was answered" },
  GW_ERR_SHUTTING_DOWN: { status: 503, summary: 'the process is draining and takes no new work' },
  GW_ERR_CACHE_UNAVAILABLE: { status: 503, summary: 'the shared cache tier (Redis) could not be reached for this operation' },
  GW_ERR_INTERNAL: { status: 500, summary: 'an unexpected internal error (a bug: please report it)' },
  GW_ERR_INJECTED_FAULT: { status: 500, summary: 'the worker failed this request on purpose (started with --inject-fault, for chaos tests)' },

  // Gateway ↔ worker wire contract.
  GW_ERR_BAD_FRAME: { status: 400, summary: 'binary tensor frame is malformed' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);
}

/** An error with a catalogued code; its message is the summary plus what went wrong here. */
export class InfergateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** For overload answers: when the client may try again (sent as Retry-After). */
  retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail?: string, options?: ErrorOptions) {
    const { summary } = ERROR_CATALOG[code];
    super(detail ? `${summary}: ${detail}` : summary, options);
    this.name = 'InfergateError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
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
