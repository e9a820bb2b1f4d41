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
};

/** GET /models answer. */
export type WorkerModelsBody = { models: ModelSignature[] };

/** GET /health/ready answer (200 when ready, 503 while loading or draining). */
export type WorkerReadyBody = { ready: boolean; state: 'loading' | 'ready' | 'draining' };

/** What one worker ran for one model version (GET /stats). */
export type WorkerModelStats = {
  /** Inference runs (one per request the worker received, batched or not). */
  runs: number;
  /** Rows run: the first input's first dim, summed. */
  rows: number;
  /** Runs by rows per run, e.g. {"1": 10, "32": 4}. */
  runsByRows: Record<string, number>;
  failures: number;
  /** Requests dropped unrun: their deadline (timeoutMs after receipt) had passed when their turn came. */
  expired: number;
};

/** GET /stats answer: per "<model>/<version>". */
export type WorkerStatsBody = { models: Record<string, WorkerModelStats> };

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
  tensors: TensorHeader[];
};

/** The header fields of a request frame (without tensors, which encodeFrame adds); `budgetMs` becomes timeoutMs. */
export function requestHeader(model: string, version: string, outputs: string[] | undefined, budgetMs: number): Omit<InferRequestHeader, 'tensors'> {
  const timeoutMs = Math.max(1, Math.ceil(budgetMs));
  return outputs ? { model, version, outputs, timeoutMs } : { model, version, timeoutMs };
}

/** Header of a POST /infer response frame. */
export type InferResponseHeader = {
  model: string;
  version: string;
  tensors: TensorHeader[];
};

export type Frame<H> = { header: H; tensors: Tensor[] };

/**
 * A decoded infer answer as the gateway passes it around (cache, batcher,
 * handler). `frame` keeps the bytes it was decoded from, when there are any,
 * so that storing it needs no re-encoding.
 */
export type InferAnswer = { model: string; version: string; tensors: Tensor[]; frame?: Uint8Array };

/** Decodes a response frame once; the tensors are views into `frame`. */
export function answerFromFrame(frame: Uint8Array): InferAnswer {
  const { header, tensors } = decodeFrame<InferResponseHeader>(frame);
  return { model: header.model, version: header.version, tensors, frame };
}

/** The answer's response frame: the bytes it came from, or a new encoding. */
export function frameOfAnswer(answer: InferAnswer): Uint8Array {
  return answer.frame ?? encodeFrame<InferResponseHeader>({ model: answer.model, version: answer.version }, answer.tensors);
}

const LENGTH_PREFIX_BYTES = 4;

/** Encodes a header (without its tensors field) and tensors into one frame. */
export function encodeFrame<H extends { tensors: TensorHeader[] }>(
  header: Omit<H, 'tensors'>,
  tensors: readonly Tensor[],
): Buffer {
  const tensorHeaders: TensorHeader[] = tensors.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
    byteLength: t.data.byteLength,
  }));
  const headerBytes = Buffer.from(JSON.stringify({ ...header, tensors: tensorHeaders }), 'utf8');
  let total = LENGTH_PREFIX_BYTES + headerBytes.byteLength;
  for (const t of tensors) total += t.data.byteLength;

  const frame = Buffer.allocUnsafe(total);
  frame.writeUInt32LE(headerBytes.byteLength, 0);
  headerBytes.copy(frame, LENGTH_PREFIX_BYTES);
  let offset = LENGTH_PREFIX_BYTES + headerBytes.byteLength;
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
