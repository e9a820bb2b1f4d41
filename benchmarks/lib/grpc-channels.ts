// The gRPC side of the load generator: a few grpc-js channels to one
// address, unary ModelInfer calls of pre-encoded bytes on them, and what a
// call came to in the Recorder's terms.
//
//   N concurrent calls ──▶ ceil(N / callsPerChannel) channels ──▶ one HTTP/2 connection each
//
// grpc-js multiplexes every call of a channel on one HTTP/2 connection, and
// by default even shares that connection among channels to one address (its
// global subchannel pool); each channel here gets its own pool, so the
// gateway sees as many connections as channels. An HTTP client makes one
// connection per concurrent request instead: callsPerChannel is the knob
// between the two (8 by default, --grpc-calls-per-channel).
//
// Statuses are recorded as their HTTP equivalents (google.rpc.Code's
// mapping: OK → 200, INVALID_ARGUMENT → 400, RESOURCE_EXHAUSTED → 429,
// UNAVAILABLE → 503, …), so a non-OK status counts as a non-2xx answer in
// every summary and report. A call that got no status from the server (the
// client's own deadline, a dropped or refused connection) is an error, as an
// HTTP request without an answer is.

import { Client, credentials, Metadata, status, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { decodeInferResponse, modelInferPath, type DecodedInferResponse } from './grpc-messages.ts';
import type { ErrorKind } from './recorder.ts';

/** Concurrent calls per channel (HTTP/2 connection) unless told otherwise. */
export const DEFAULT_CALLS_PER_CHANNEL = 8;

/** The gateway's trailing metadata key with the catalogued error code (gateway/grpc/grpc-status.ts): its presence proves the gateway answered. */
const ERROR_CODE_METADATA = 'infergate-error-code';

const CHANNEL_OPTIONS = {
  // A channel of its own per connection (see above).
  'grpc.use_local_subchannel_pool': 1,
  // A failed call is counted, never resent behind our back (nor buffered for a resend).
  'grpc.enable_retries': 0,
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

/** What one call came to: an answer with its status as HTTP's, or no answer. */
export type CallOutcome = { kind: 'answer'; status: number; bytes: number } | { kind: 'error'; error: ErrorKind };

const HTTP_STATUS: Record<number, number> = {
  [status.OK]: 200,
  [status.CANCELLED]: 499,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 400,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
  [status.UNAUTHENTICATED]: 401,
};

/**
 * A non-OK call's outcome. `fromGateway`: the trailers carry the gateway's
 * error code, so the status is the gateway's answer whatever it is. Without
 * it, grpc-js's own statuses for "no answer" are errors: DEADLINE_EXCEEDED
 * (our deadline, the request timeout), UNAVAILABLE (connection refused or
 * dropped), CANCELLED (we cancelled it); any other status came from the
 * server's gRPC layer (e.g. a message over its size limit) and is an answer.
 */
export function failedCallOutcome(code: number, fromGateway: boolean): CallOutcome {
  if (!fromGateway) {
    if (code === status.DEADLINE_EXCEEDED) return { kind: 'error', error: 'timeout' };
    if (code === status.UNAVAILABLE) return { kind: 'error', error: 'reset' };
    if (code === status.CANCELLED) return { kind: 'error', error: 'other' };
  }
  return { kind: 'answer', status: HTTP_STATUS[code] ?? 500, bytes: 0 };
}

function outcomeOf(err: ServiceError | null, answer: Buffer | undefined): CallOutcome {
  if (!err) return { kind: 'answer', status: 200, bytes: answer?.byteLength ?? 0 };
  return failedCallOutcome(err.code, (err.metadata?.get(ERROR_CODE_METADATA).length ?? 0) > 0);
}

/** Channels for `calls` concurrent calls at `callsPerChannel` each (at least one). */
export function channelsFor(calls: number, callsPerChannel: number): number {
  return Math.max(1, Math.ceil(calls / Math.max(1, callsPerChannel)));
}

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * `count` channels to `address` (host:port), each connected before it is
 * used: a channel's first call would otherwise also pay the TCP and HTTP/2
 * handshakes, a one-off cost, not a per-call one.
 */
export async function openChannels(address: string, count: number, timeoutMs: number): Promise<GrpcChannels> {
  const channels = new GrpcChannels(Array.from({ length: count }, () => new Client(address, credentials.createInsecure(), CHANNEL_OPTIONS)));
  try {
    await channels.ready(Date.now() + timeoutMs);
  } catch (err) {
    channels.close();
    throw new Error(`gRPC ${address}: no connection within ${timeoutMs} ms (${(err as Error).message})`);
  }
  return channels;
}

export class GrpcChannels {
  readonly #clients: readonly Client[];
  readonly #path = modelInferPath();

  constructor(clients: readonly Client[]) {
    this.#clients = clients;
  }

  ready(deadline: number): Promise<unknown> {
    return Promise.all(this.#clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(deadline, (err) => (err ? reject(err) : resolve())))));
  }

  get size(): number {
    return this.#clients.length;
  }

  /** One ModelInfer call of `body` (encoded bytes) on channel `index`, with a deadline of `timeoutMs`. */
  call(index: number, body: Buffer, timeoutMs: number, done: (outcome: CallOutcome) => void): ClientUnaryCall {
    const client = this.#clients[index % this.#clients.length]!;
    return client.makeUnaryRequest(this.#path, identity, identity, body, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, answer) => done(outcomeOf(err, answer)));
  }

  close(): void {
    for (const client of this.#clients) client.close();
  }
}

/** One call on a channel of its own, decoded: the harness's check before any load (and its probe after an overload). */
export async function grpcSingle(address: string, body: Buffer, timeoutMs: number): Promise<{ status: number; text: string; ms: number; answer?: DecodedInferResponse }> {
  const client = new Client(address, credentials.createInsecure(), CHANNEL_OPTIONS);
  const started = performance.now();
  try {
    return await new Promise((resolve) => {
      client.makeUnaryRequest(modelInferPath(), identity, identity, body, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, bytes) => {
        const ms = performance.now() - started;
        if (err) return resolve({ status: HTTP_STATUS[err.code] ?? 500, text: `${status[err.code]}: ${err.details}`, ms });
        const answer = decodeInferResponse(bytes!);
        const outputs = answer.outputs.map((o) => `${o.name} ${o.datatype} [${o.shape.join(', ')}]`).join(', ');
        resolve({ status: 200, text: `${answer.model_name} ${answer.model_version}: ${outputs}; ${answer.raw_output_contents.length} raw output(s)`, ms, answer });
      });
    });
  } finally {
    client.close();
  }
}
