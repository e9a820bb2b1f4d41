// Runs one formed batch: identical requests once, inputs concatenated along
// their batch axes, one dispatch, and each member answered with views of its
// own rows. A batch that fails because the model rejected an input (not a
// replica failure) is bisected and re-run, so one poisoned request fails
// alone. The batcher (batcher.ts) owns the queue and the timer; this owns
// nothing but the one batch in hand.

import { InfergateError } from '../../common/errors.ts';
import { answerFromFrame, encodeFrameBytes, requestHeader, type FrameBytes, type InferAnswer, type InferRequestHeader, type RequestTag, type Tensor } from '../../common/wire.ts';
import { tagOf, type RequestRecord, type RunObserver } from '../telemetry/request-record.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import type { BatchAxes } from './batch-axes.ts';
import type { BatchStats } from './batch-stats.ts';
import { concatAlongAxes, splitAlongAxes } from './tensor-batch.ts';

export type BatchRequest = {
  tensors: Tensor[];
  outputs: string[] | undefined;
  rows: number;
  groupKey: string;
  /** Identical requests in one batch run once: the result cache's key when the cache computed one. */
  dedupeKey: string | undefined;
  priority: number;
  deadlineMs: number;
  /** Its record, written as it goes through the queue and the run (request-record.ts). */
  record?: RequestRecord | undefined;
  /** Aborted when the client cancels: the request leaves the queue (once in a batch, it runs and its answer is dropped). */
  signal?: AbortSignal | undefined;
};

/** A queued request, as the batcher hands it over. */
export type BatchMember = {
  id: number;
  request: BatchRequest;
  resolve: (answer: InferAnswer) => void;
  reject: (err: InfergateError) => void;
};

export type BatchRunnerOptions = {
  model: string;
  version: string;
  axes: BatchAxes;
  dispatcher: Dispatcher;
  /** Most output bytes one request's answer may hold (limits.maxResponseBytes). */
  maxResponseBytes: number;
  stats: BatchStats;
  now: () => number;
  /** Told how long each successful dispatch took (the batcher's run-time estimate). */
  onRunMs: (ms: number) => void;
  /** Told of every frame a worker ran. */
  onRun?: RunObserver | undefined;
};

/** Runs one batch (identical requests once) and answers each member; bisects on a model error. */
export async function runBatch(batch: readonly BatchMember[], o: BatchRunnerOptions): Promise<void> {
  const formedMs = o.now();
  for (const item of batch) if (item.request.record) item.request.record.batchFormedMs = formedMs;
  const unique = new Map<string, BatchMember[]>();
  for (const item of batch) {
    const key = batch.length === 1 ? '' : dedupeKeyOf(item.request);
    const same = key === undefined ? undefined : unique.get(key);
    if (same) same.push(item);
    else unique.set(key ?? `unique:${item.id}`, [item]);
  }
  if (unique.size < batch.length) o.stats.deduplicated(batch.length - unique.size);
  await execute([...unique.values()], o);
}

/** Each group is one distinct request and the identical ones that share its answer. */
async function execute(groups: BatchMember[][], o: BatchRunnerOptions): Promise<void> {
  const leaders = groups.map((g) => g[0]!);
  const first = leaders[0]!.request;
  const deadlineMs = Math.max(...leaders.map((p) => p.request.deadlineMs));
  const tensors = leaders.length === 1 ? first.tensors : concatAlongAxes(leaders.map((p) => p.request.tensors), o.axes.inputs);
  // The batch may hold each member's share: a larger answer means some member is over its own limit.
  const maxOutputBytes = o.maxResponseBytes * leaders.length;
  const requests = requestTags(groups);
  const encode = (budgetMs: number): FrameBytes =>
    encodeFrameBytes<InferRequestHeader>(requestHeader(o.model, o.version, { outputs: first.outputs, budgetMs, maxOutputBytes, requests }), tensors);
  const startedMs = o.now();
  const rows = leaders.reduce((n, p) => n + p.request.rows, 0);
  forEachRecord(groups, (record) => {
    record.dispatchedMs = startedMs;
    record.batchRows = rows;
  });
  let answer: Uint8Array;
  try {
    answer = await o.dispatcher.dispatch(o.model, o.version, encode, deadlineMs);
  } catch (err) {
    const error = err instanceof InfergateError ? err : new InfergateError('GW_ERR_INTERNAL', String(err));
    if ((error.code === 'GW_ERR_MODEL_EXECUTION' || error.code === 'GW_ERR_RESPONSE_TOO_LARGE') && groups.length > 1) {
      // Poison isolation: re-run each half; the bad (or over-size) request ends up alone.
      o.stats.bisected();
      const middle = Math.ceil(groups.length / 2);
      await Promise.all([execute(groups.slice(0, middle), o), execute(groups.slice(middle), o)]);
      return;
    }
    for (const group of groups) for (const item of group) item.reject(error);
    return;
  }
  const answeredMs = o.now();
  o.onRunMs(answeredMs - startedMs);

  const whole = answerFromFrame(answer);
  o.onRun?.(whole.model, whole.version, rows, whole.timing);
  forEachRecord(groups, (record) => {
    record.answeredMs = answeredMs;
    record.worker = whole.timing;
  });
  if (leaders.length === 1) {
    for (const item of groups[0]!) item.resolve(whole);
    return;
  }
  // Each member gets views of its own rows; nothing is re-encoded here.
  const parts = splitAlongAxes(whole.tensors, leaders.map((p) => p.request.rows), o.axes.outputs);
  for (const [i, group] of groups.entries()) {
    const own: InferAnswer = { model: whole.model, version: whole.version, tensors: parts[i]! };
    const bytes = own.tensors.reduce((sum, t) => sum + t.data.byteLength, 0);
    if (bytes > o.maxResponseBytes) {
      const error = new InfergateError('GW_ERR_RESPONSE_TOO_LARGE', `model ${o.model} version ${o.version} produced ${bytes} bytes of outputs for this request; the limit is ${o.maxResponseBytes} (limits.maxResponseBytes): ask for fewer rows or fewer outputs`);
      for (const item of group) item.reject(error);
      continue;
    }
    for (const item of group) item.resolve(own);
  }
}

/** The client requests a batch frame runs for, as its header tells the worker (none when no member has a record). */
function requestTags(groups: readonly BatchMember[][]): RequestTag[] | undefined {
  let tags: RequestTag[] | undefined;
  forEachRecord(groups, (record) => (tags ??= []).push(tagOf(record)));
  return tags;
}

function forEachRecord(groups: readonly BatchMember[][], visit: (record: RequestRecord) => void): void {
  for (const group of groups) for (const item of group) if (item.request.record) visit(item.request.record);
}

/** Requests larger than this are not compared byte for byte (they are rarely identical, and the key would be large). */
const MAX_DEDUPE_BYTES = 16 * 1024;

/**
 * The identity of a request within its batch: the cache key when there is
 * one, else the raw input bytes as a latin1 string (exact, and much cheaper
 * than a SHA-256 for small tensors; members of a batch already share names,
 * datatypes and non-batch dims). Undefined: never merged.
 */
function dedupeKeyOf(request: BatchRequest): string | undefined {
  if (request.dedupeKey !== undefined) return request.dedupeKey;
  let bytes = 0;
  for (const t of request.tensors) bytes += t.data.byteLength;
  if (bytes > MAX_DEDUPE_BYTES) return undefined;
  let key = '';
  for (const t of request.tensors) key += `\u0000${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('latin1')}`;
  return key;
}
