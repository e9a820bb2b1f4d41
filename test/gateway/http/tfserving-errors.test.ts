// A TF Serving client gets, for every catalogued error, the status TF Serving
// itself would answer: TF Serving maps its canonical error code to HTTP
// (ToHTTPStatusCode in tensorflow_serving/model_servers/http_server.cc), and
// the gateway's one HTTP map (common/http-status.ts) gives the same status for
// every kind, bar the three HTTP-only kinds TF Serving has no code for and the
// 405 of a method a path does not take.

import t from 'tap';
import { ERROR_CATALOG, ERROR_CODES, errorBody, InfergateError, type ErrorKind } from '../../../common/errors.ts';
import { httpStatusOf } from '../../../common/http-status.ts';

/** TF Serving's ToHTTPStatusCode. */
const TF_SERVING_STATUS: Record<string, number> = {
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/**
 * The canonical code TF Serving would use for each kind. Overload is UNAVAILABLE: TF Serving's batching queue, when
 * full, refuses with UNAVAILABLE ("the batch scheduling queue … is full"), not RESOURCE_EXHAUSTED.
 */
const CANONICAL: Partial<Record<ErrorKind, string>> = {
  invalid_argument: 'INVALID_ARGUMENT',
  failed_precondition: 'FAILED_PRECONDITION',
  not_found: 'NOT_FOUND',
  aborted: 'ABORTED',
  unauthenticated: 'UNAUTHENTICATED',
  permission_denied: 'PERMISSION_DENIED',
  overloaded: 'UNAVAILABLE',
  rate_limited: 'RESOURCE_EXHAUSTED',
  unavailable: 'UNAVAILABLE',
  deadline_exceeded: 'DEADLINE_EXCEEDED',
  cancelled: 'CANCELLED',
  internal: 'INTERNAL',
};

/** HTTP's own answers, which TF Serving has no canonical code for: 413, 431, 408, 415, and 405 with its Allow header. */
const HTTP_ONLY: Partial<Record<ErrorKind, number>> = { too_large: 413, headers_too_large: 431, slow_client: 408, unsupported_format: 415, unimplemented: 405 };

t.test('every catalogued error answers with TF Serving\'s status for its canonical code', async (t) => {
  for (const code of ERROR_CODES) {
    const { kind } = ERROR_CATALOG[code];
    const canonical = CANONICAL[kind];
    const expected = canonical === undefined ? HTTP_ONLY[kind] : TF_SERVING_STATUS[canonical];
    t.equal(httpStatusOf({ kind }), expected, `${code} (${kind}${canonical ? ` → ${canonical}` : ', HTTP only'})`);
  }
});

t.test('the body is TF Serving\'s {"error": …}, with the catalogued code beside it', async (t) => {
  const body = errorBody(new InfergateError('GW_ERR_MODEL_NOT_FOUND', '"nope"'));
  t.type(body.error, 'string', 'TF Serving\'s clients read "error"');
  t.equal(body.code, 'GW_ERR_MODEL_NOT_FOUND');
});
