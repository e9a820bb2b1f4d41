// Where a failed upstream call went wrong decides what happens next:
//
//   origin      example                              retry elsewhere?  replica's fault?
//   transport   connection refused/reset, crash       yes               yes
//   timeout     no answer within the attempt timeout  yes (if the request's deadline allows) yes
//   replica     worker answered 5xx                   yes               yes
//   request     worker answered 4xx (bad input,       no                no
//               model rejected this input)
//   expired     the worker dropped it: the request's  no                no
//               deadline had passed when its turn came
//   rejected    the replica's breaker refused it      yes               no (nothing was sent)
//               (its half-open probe was taken)
//
// Classifying once, here, keeps a client's bad input from ever counting
// against a replica (breakers and health read `origin`, never messages).

import { InfergateError } from '../../common/errors.ts';

export type FailureOrigin = 'transport' | 'timeout' | 'replica' | 'request' | 'expired' | 'rejected';

export class UpstreamFailure extends Error {
  readonly origin: FailureOrigin;
  readonly error: InfergateError;

  constructor(origin: FailureOrigin, error: InfergateError) {
    super(error.message, { cause: error });
    this.name = 'UpstreamFailure';
    this.origin = origin;
    this.error = error;
  }

  /** Whether another replica may succeed where this one failed. */
  get retryable(): boolean {
    return this.origin === 'transport' || this.origin === 'timeout' || this.origin === 'replica' || this.origin === 'rejected';
  }

  /** Whether the failure says something about the replica's health (breakers and outlier ejection count only these). */
  get replicaFault(): boolean {
    return this.origin === 'transport' || this.origin === 'timeout' || this.origin === 'replica';
  }
}

// undici and Node socket error codes that mean "the connection failed", i.e.
// the worker is gone or going: the request may or may not have run, and
// inference is side-effect free, so it is safe to run it again elsewhere.
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT', // unix socket file removed: the worker is gone
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED', 'ABORT_ERR']);

/** Classifies something thrown by the HTTP client. */
export function classifyThrown(err: unknown, replicaId: string): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (TIMEOUT_CODES.has(code) || (err as Error | null)?.name === 'TimeoutError') {
    return new UpstreamFailure('timeout', new InfergateError('GW_ERR_DEADLINE_EXCEEDED', `replica ${replicaId} did not answer in time`));
  }
  if (TRANSPORT_CODES.has(code)) {
    return new UpstreamFailure('transport', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `replica ${replicaId}: ${code} ${message}`));
  }
  return new UpstreamFailure('transport', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `replica ${replicaId}: ${message}`));
}

/** Classifies a worker's non-2xx answer (its body is {code, message}). */
export function classifyAnswer(status: number, body: unknown): UpstreamFailure {
  const error = InfergateError.fromWire(body);
  if (error.code === 'GW_ERR_DEADLINE_EXCEEDED') return new UpstreamFailure('expired', error);
  return new UpstreamFailure(status >= 500 ? 'replica' : 'request', error);
}

/** Whether something thrown is a failure that is the replica's fault (the breakers' isFault). */
export function isReplicaFault(err: unknown): boolean {
  return err instanceof UpstreamFailure && err.replicaFault;
}
