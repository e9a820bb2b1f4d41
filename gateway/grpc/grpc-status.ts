// The gRPC front's map from an error's protocol-neutral kind to its status
// code (the HTTP front's is common/http-status.ts). The catalogued code
// itself travels in the trailing metadata, `infergate-error-code`.

import { status } from '@grpc/grpc-js';
import type { ErrorKind } from '../../common/errors.ts';

const GRPC_STATUS: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  failed_precondition: status.FAILED_PRECONDITION,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  aborted: status.ABORTED,
  unimplemented: status.UNIMPLEMENTED,
  // A body that did not arrive in time over HTTP; over gRPC the deadline covers it.
  slow_client: status.DEADLINE_EXCEEDED,
  too_large: status.RESOURCE_EXHAUSTED,
  headers_too_large: status.RESOURCE_EXHAUSTED,
  unsupported_format: status.INVALID_ARGUMENT,
  internal: status.INTERNAL,
  overloaded: status.RESOURCE_EXHAUSTED,
  rate_limited: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
};

export function grpcStatusOf(kind: ErrorKind): status {
  return GRPC_STATUS[kind];
}

/** The trailing metadata key that carries the catalogued error code. */
export const ERROR_CODE_METADATA = 'infergate-error-code';
