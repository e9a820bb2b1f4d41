// What happened to one client request, written down as it happens by each
// stage of the infer path and read once when the request ends: by the
// metrics, the inference statistics, the access log and the trace spans
// (gateway/observability/). A stage writes a timestamp or two into a plain
// object; nothing is computed, formatted or allocated per stage, so the hot
// path pays a few property stores.
//
//   receivedMs ─ decodedMs ─ (cache) ─ queuedMs ─ batchFormedMs ─ dispatchedMs ─ answeredMs ─ encodeStartMs ─ endedMs
//                                      └─ batcher only ─────────┘
//
// Times are performance.now() milliseconds of the gateway process; the
// worker's own measures (WorkerTiming) are durations.

import type { RequestTag, WorkerTiming } from '../../common/wire.ts';

/** The front a request came in by (a metrics label: bounded): KServe v2 REST, KServe v2 gRPC, TF Serving REST. */
export type Protocol = 'rest' | 'grpc' | 'tfserving';

/** How the result cache took part (result-cache.ts's outcomes; undefined when the request never got that far). */
export type CacheTook = 'hit' | 'miss' | 'joined' | 'bypass' | 'off';

export type RequestRecord = {
  /** The request id (x-request-id), sane: request-id.ts. */
  readonly id: string;
  /** The W3C traceparent the worker's span joins, when the request is traced or the client sent one. */
  traceparent: string | undefined;
  /** Set by the front once it knows the route: the HTTP front serves KServe and TF Serving alike. */
  protocol: Protocol;
  readonly receivedMs: number;
  /** The model and version that served it (known names only: a metrics label must stay bounded). */
  model: string | undefined;
  version: string | undefined;
  /** The body was read and decoded into tensors. */
  decodedMs: number | undefined;
  cache: CacheTook | undefined;
  /** Entered a batcher's queue; left it in a batch of `batchRows` rows. */
  queuedMs: number | undefined;
  batchFormedMs: number | undefined;
  batchRows: number | undefined;
  /** The frame was handed to the dispatcher; its answer came back. */
  dispatchedMs: number | undefined;
  answeredMs: number | undefined;
  /** The worker's measure of the run that answered it (shared by every member of a batch). */
  worker: WorkerTiming | undefined;
  encodeStartMs: number | undefined;
  /** The answer was handed to the socket; its status and, for an error, the catalogued code. */
  endedMs: number | undefined;
  status: number | undefined;
  code: string | undefined;
  /** The API key's name that made it (auth.mode keys), for the access log. */
  caller: string | undefined;
  /** Charges its rows to its caller's rows-per-second limit once decoded (access-gate.ts); throws when over. */
  rowQuota: ((rows: number) => void | Promise<void>) | undefined;
};

export function newRequestRecord(id: string, protocol: Protocol, receivedMs: number, traceparent: string | undefined): RequestRecord {
  return {
    id,
    traceparent,
    protocol,
    receivedMs,
    model: undefined,
    version: undefined,
    decodedMs: undefined,
    cache: undefined,
    queuedMs: undefined,
    batchFormedMs: undefined,
    batchRows: undefined,
    dispatchedMs: undefined,
    answeredMs: undefined,
    worker: undefined,
    encodeStartMs: undefined,
    endedMs: undefined,
    status: undefined,
    code: undefined,
    caller: undefined,
    rowQuota: undefined,
  };
}

/** What the worker is told of the request (its id and trace), for its log lines and its run span. */
export function tagOf(record: RequestRecord): RequestTag {
  return record.traceparent === undefined ? { id: record.id } : { id: record.id, traceparent: record.traceparent };
}

/** Told of every request when it ends (the metrics, the statistics, the access log, the spans). */
export type RequestObserver = (record: RequestRecord) => void;

/**
 * Told of every frame a worker ran for clients, once per frame (a batch of many requests is one run): the rows it
 * held and the worker's timing (undefined when the run failed or the worker did not say).
 */
export type RunObserver = (model: string, version: string, rows: number, timing: WorkerTiming | undefined) => void;
