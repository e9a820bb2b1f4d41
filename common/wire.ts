// The gateway ↔ worker contract: the worker's HTTP routes and the binary
// tensor frame both sides speak. JSON tensors are decoded once at the gateway's
// edge and never again; between processes tensors travel as raw bytes.
//
// Frame layout (request and response bodies of POST /infer):
//
//   0        4                 4+H
//   ┌────────┬─────────────────┬──────────────────────────────────────┐
//   │ H: u32 │ header: JSON    │ tensor 0 bytes │ tensor 1 bytes │ …  │
//   │ (LE)   │ (UTF-8, H bytes)│ (header.tensors[i].byteLength each)  │
//   └────────┴─────────────────┴──────────────────────────────────────┘
//
// Tensor bytes are little-endian in each datatype's natural layout; BYTES
// elements are each a u32 LE length followed by the element's bytes. Errors on
// any route are JSON {code, message} with the catalogued HTTP status.

import type { KServeDatatype } from './datatypes.ts';
import { InfergateError } from './errors.ts';

export const WORKER_ROUTES = {
  live: '/health/live',
  ready: '/health/ready',
  models: '/models',
  infer: '/infer',
  stats: '/stats',
  /**
   * GET: the worker's prom-client registry as JSON (WorkerMetricsBody), every sample labelled with its replica id.
   * Workers have no metrics port: the gateway merges these into its own GET /metrics at each scrape.
   */
  metrics: '/metrics',
  /** POST, body WorkerModelLoadBody or none: (re)load one model from the repository; 200 WorkerModelsBody once done. */
  modelLoad: '/models/{name}/load',
  /** POST, no body: retire every version of one model; 200 WorkerModelsBody once its runs in flight ended. */
  modelUnload: '/models/{name}/unload',
} as const;

export const FRAME_CONTENT_TYPE = 'application/vnd.infergate.tensors';

/**
 * Set to "1" by the gateway's supervisor for the workers it spawns, with a
 * pipe on the worker's stdin: end-of-file there means the gateway died, and
 * the worker drains and exits rather than outlive it.
 */
export const EXIT_WITH_PARENT_ENV = 'INFERGATE_EXIT_WITH_PARENT';

/** A tensor's declared signature: dims of -1 are dynamic; [] is a scalar. */
export type TensorSpec = {
  name: string;
  datatype: KServeDatatype;
  shape: number[];
};

/** One model version as a worker loaded it, read from the onnxruntime session. */
export type ModelSignature = {
  name: string;
  version: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /**
   * SHA-256 (hex) of the model.onnx bytes the session was created from: what the model *is*, beyond its name and
   * version. Part of every result-cache key, so two files served under one name and version never share answers.
   */
  fingerprint: string;
};

/** A model version a worker could not serve, and why (the file and the cause, in one line). */
export type UnavailableVersion = { name: string; version: string; reason: string };

/** Something a worker wants an operator to read about a version it serves (e.g. its synthetic warm-up failed). */
export type VersionWarning = { name: string; version: string; message: string };

/** GET /models answer: the versions loaded, those that could not be, and warnings about the loaded ones. */
export type WorkerModelsBody = { models: ModelSignature[]; unavailable: UnavailableVersion[]; warnings: VersionWarning[] };

/** A tensor with concrete shape and its raw bytes. */
export type Tensor = {
  name: string;
  datatype: KServeDatatype;
  shape: number[];
  data: Uint8Array;
};

export type TensorHeader = {
  name: string;
  datatype: KServeDatatype;
  shape: number[];
  byteLength: number;
};

/** Header of a POST /infer request frame. */
export type InferRequestHeader = {
  model: string;
  version: string;
  /** Output names to compute; omitted means every output of the model. */
  outputs?: string[];
  /**
   * The request's remaining deadline when the frame was sent (relative, so
   * the two processes' clocks need not agree): a worker whose turn for it
   * comes later than this after receipt drops it unrun (GW_ERR_DEADLINE_EXCEEDED).
   */
  timeoutMs?: number;
  /**
   * Most output tensor bytes the answer may hold: a worker whose outputs are larger answers
   * GW_ERR_RESPONSE_TOO_LARGE instead of sending them. Absent: the worker's own limit.
   */
  maxOutputBytes?: number;
  /**
   * The client requests this frame runs for (several in a batch), for the worker's log lines and spans: each one's
   * gateway request id and W3C traceparent. Absent when the gateway sends none.
   */
  requests?: RequestTag[];
  tensors: TensorHeader[];
};

/** A client request as the worker learns of it: the id its log lines carry, and the trace its run span joins. */
export type RequestTag = { id: string; traceparent?: string };

/** Where a worker's time on one frame went, measured in the worker, in milliseconds. */
export type WorkerTiming = {
  /** Frame tensors into onnxruntime tensors. */
  inputMs: number;
  /** The session run. */
  inferMs: number;
  /** onnxruntime outputs into the response frame's tensors. */
  outputMs: number;
};

/** What a request frame's header says besides its tensors (which encodeFrame adds). */
export type RequestHeaderFields = { outputs: string[] | undefined; budgetMs: number; maxOutputBytes: number; requests?: RequestTag[] };

/** The header fields of a request frame; `budgetMs` becomes timeoutMs. */
export function requestHeader(model: string, version: string, fields: RequestHeaderFields): Omit<InferRequestHeader, 'tensors'> {
  const timeoutMs = Math.max(1, Math.ceil(fields.budgetMs));
  const { outputs, maxOutputBytes, requests } = fields;
  const header: Omit<InferRequestHeader, 'tensors'> = outputs ? { model, version, outputs, timeoutMs, maxOutputBytes } : { model, version, timeoutMs, maxOutputBytes };
  if (requests && requests.length > 0) header.requests = requests;
  return header;
}

/** Header of a POST /infer response frame. */
export type InferResponseHeader = {
  model: string;
  version: string;
  /** The worker's own measure of the run (absent from workers that do not measure). */
  timing?: WorkerTiming;
  tensors: TensorHeader[];
};

export type Frame<H> = { header: H; tensors: Tensor[] };

/**
 * A decoded infer answer as the gateway passes it around (cache, batcher,
 * handler). `frame` keeps the bytes it was decoded from, when there are any,
 * so that storing it needs no re-encoding.
 */
export type InferAnswer = { model: string; version: string; tensors: Tensor[]; frame?: Uint8Array; timing?: WorkerTiming };

/** Decodes a response frame once; the tensors are views into `frame`. */
export function answerFromFrame(frame: Uint8Array): InferAnswer {
  const { header, tensors } = decodeFrame<InferResponseHeader>(frame);
  return header.timing ? { model: header.model, version: header.version, tensors, frame, timing: header.timing } : { model: header.model, version: header.version, tensors, frame };
}

/** The answer's response frame: the bytes it came from, or a new encoding. */
export function frameOfAnswer(answer: InferAnswer): Uint8Array {
  return answer.frame ?? encodeFrame<InferResponseHeader>({ model: answer.model, version: answer.version }, answer.tensors);
}

const LENGTH_PREFIX_BYTES = 4;

/** A frame as pieces to be written one after the other: its length prefix and header, then each tensor's bytes. */
export type FrameParts = readonly Uint8Array[];

/** A frame to send: one buffer, or its parts when its tensors are large. */
export type FrameBytes = Uint8Array | FrameParts;

/** Tensors of at least this many bytes in all are sent as parts, not copied into one frame (see encodeFrameBytes). */
const PARTS_MIN_BYTES = 1024 * 1024;

/**
 * A frame to send: one buffer when small (one copy beats a write per part), its parts when the tensors hold
 * PARTS_MIN_BYTES or more: copying tens of megabytes into a fresh buffer would hold the event loop for as many
 * milliseconds (page faults included), and the socket writes the parts without joining them (writev).
 */
export function encodeFrameBytes<H extends { tensors: TensorHeader[] }>(header: Omit<H, 'tensors'>, tensors: readonly Tensor[]): FrameBytes {
  let bytes = 0;
  for (const t of tensors) bytes += t.data.byteLength;
  return bytes >= PARTS_MIN_BYTES ? [frameHead<H>(header, tensors), ...tensors.map((t) => t.data)] : encodeFrame<H>(header, tensors);
}

/** The byte length of a frame to send. */
export function frameByteLength(frame: FrameBytes): number {
  if (frame instanceof Uint8Array) return frame.byteLength;
  let bytes = 0;
  for (const part of frame) bytes += part.byteLength;
  return bytes;
}

/** A frame's length prefix and JSON header (its tensors follow). */
function frameHead<H extends { tensors: TensorHeader[] }>(header: Omit<H, 'tensors'>, tensors: readonly Tensor[]): Buffer {
  const text = headerText(header, tensors);
  const headerBytes = Buffer.byteLength(text, 'utf8');
  const head = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + headerBytes);
  head.writeUInt32LE(headerBytes, 0);
  head.write(text, LENGTH_PREFIX_BYTES, 'utf8');
  return head;
}

/**
 * The header as JSON: exactly JSON.stringify({ ...header, tensors: [{ name, datatype, shape, byteLength }] }),
 * without building the tensor headers as objects first. Shapes are whole numbers, whose join is their JSON.
 */
function headerText(header: object, tensors: readonly Tensor[]): string {
  const fields = JSON.stringify(header);
  let text = fields.length > 2 ? `${fields.slice(0, -1)},"tensors":[` : '{"tensors":[';
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    text += `${i === 0 ? '' : ','}{"name":${JSON.stringify(t.name)},"datatype":${JSON.stringify(t.datatype)},"shape":[${t.shape.join(',')}],"byteLength":${t.data.byteLength}}`;
  }
  return `${text}]}`;
}

/** Encodes a header (without its tensors field) and tensors into one frame: one allocation, the header text written in place. */
export function encodeFrame<H extends { tensors: TensorHeader[] }>(
  header: Omit<H, 'tensors'>,
  tensors: readonly Tensor[],
): Buffer {
  const text = headerText(header, tensors);
  const headerBytes = Buffer.byteLength(text, 'utf8');
  let total = LENGTH_PREFIX_BYTES + headerBytes;
  for (const t of tensors) total += t.data.byteLength;

  const frame = Buffer.allocUnsafe(total);
  frame.writeUInt32LE(headerBytes, 0);
  frame.write(text, LENGTH_PREFIX_BYTES, 'utf8');
  let offset = LENGTH_PREFIX_BYTES + headerBytes;
  for (const t of tensors) {
    frame.set(t.data, offset);
    offset += t.data.byteLength;
  }
  return frame;
}

/**
 * Decodes a frame. Tensor data are views into `frame` (no copy), so the
 * caller must not reuse the buffer while the tensors are alive.
 */
export function decodeFrame<H extends { tensors: TensorHeader[] }>(frame: Uint8Array): Frame<H> {
  if (frame.byteLength < LENGTH_PREFIX_BYTES) {
    throw new InfergateError('GW_ERR_BAD_FRAME', `frame of ${frame.byteLength} bytes has no header length`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLength = view.getUint32(0, true);
  const bodyStart = LENGTH_PREFIX_BYTES + headerLength;
  if (bodyStart > frame.byteLength) {
    throw new InfergateError('GW_ERR_BAD_FRAME', `header length ${headerLength} exceeds frame of ${frame.byteLength} bytes`);
  }

  let header: H;
  try {
    header = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset + LENGTH_PREFIX_BYTES, headerLength).toString('utf8')) as H;
  } catch (err) {
    throw new InfergateError('GW_ERR_BAD_FRAME', `header is not JSON: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || !Array.isArray(header.tensors)) {
    throw new InfergateError('GW_ERR_BAD_FRAME', 'header has no tensors array');
  }

  const tensors: Tensor[] = [];
  let offset = bodyStart;
  for (const t of header.tensors) {
    if (!Number.isSafeInteger(t?.byteLength) || t.byteLength < 0 || offset + t.byteLength > frame.byteLength) {
      throw new InfergateError('GW_ERR_BAD_FRAME', `tensor ${JSON.stringify(t?.name)} overruns the frame`);
    }
    tensors.push({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      data: new Uint8Array(frame.buffer, frame.byteOffset + offset, t.byteLength),
    });
    offset += t.byteLength;
  }
  if (offset !== frame.byteLength) {
    throw new InfergateError('GW_ERR_BAD_FRAME', `${frame.byteLength - offset} trailing bytes after the last tensor`);
  }
  return { header, tensors };
}
