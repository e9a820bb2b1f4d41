// cache.memoryMaxBytes bounds the process, not only the payloads: fill the
// in-process tier through a real ResultCache and the real codec with 200,000
// distinct classifier-shaped answers (one FP32 [1,10] output, 166-byte
// frames), then hit a hot set through the memo with replies rendered as the
// HTTP layer does, and compare the process's heap growth with the bound.
//
// Heap figures come from a child process (`--expose-gc --single-threaded-gc`:
// a full GC on demand, and ArrayBuffers freed before gc() returns, so
// `external` is exact). Growth is heapUsed + external; `arrayBuffers` is
// part of `external` already (Node's docs), so adding it would count every
// segment twice. The same child measures the per-entry constants of
// memory-costs.ts again, so a V8 that lays objects out differently fails here.

import { execFile } from 'node:child_process';
import { answerFromFrame, encodeFrame, frameOfAnswer, type InferAnswer } from '../../../common/wire.ts';
import { encodeInferResponse } from '../../../common/kserve/encode-response.ts';
import { SLOT_BYTES } from '../../../gateway/cache/entry-table.ts';
import { MemoryLru } from '../../../gateway/cache/memory-lru.ts';
import { memoEntryBytes } from '../../../gateway/cache/hot-memo.ts';
import { INDEX_ENTRY_BYTES, splitMemoryBudget } from '../../../gateway/cache/memory-costs.ts';
import { ResultCache } from '../../../gateway/cache/result-cache.ts';
import { recordBytes } from '../../../gateway/cache/segments.ts';

const MiB = 1024 * 1024;
const MEMORY_MAX_BYTES = 16 * MiB;
const ANSWERS = 200_000;
/**
 * What the bound does not cover, beside the cache: the child's own heap moving between two full GCs (V8 keeps
 * feedback vectors, compiled code and page metadata as the fill runs; a warm-up on a throwaway cache takes most of
 * that before the baseline). 1 MiB is ~6% of the bound; the measured growth sits well below it (see the report).
 */
const SLACK_BYTES = 1 * MiB;
const PROBE_ENV = 'INFERGATE_CACHE_MEMORY_PROBE';

type G = typeof globalThis & { gc: () => void; keep: unknown[] };
const g = globalThis as G;

/** Live bytes after a full collection (twice: the first may leave what finalizers released). */
function settled(): number {
  g.gc();
  g.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const POLICY = { enabled: true, ttlSeconds: 3600, maxEntryBytes: 1024 * 1024 };
const FINGERPRINT = 'f'.repeat(64);

function classifierCache() {
  const budget = splitMemoryBudget(MEMORY_MAX_BYTES);
  const memory = new MemoryLru({ maxBytes: budget.tierMaxBytes, now: () => 0 });
  const cache = new ResultCache<InferAnswer>({
    codec: { toBytes: frameOfAnswer, fromBytes: answerFromFrame },
    tiers: [memory],
    keyPrefix: 'infergate',
    policyFor: () => POLICY,
    hotMemo: budget.hotMemo,
  });
  const input = new Float32Array(64);
  const keyOf = (i: number) => {
    input[0] = i;
    return cache.keyFor({ model: 'classifier', version: '2', fingerprint: FINGERPRINT, outputs: undefined, tensors: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Uint8Array(input.buffer) }] });
  };
  return { cache, memory, keyOf, budget };
}

/** A worker's answer: probabilities [1,10] in a response frame, decoded (views into it). */
function classifierAnswer(i: number): InferAnswer {
  const probabilities = new Float32Array(10);
  for (let j = 0; j < 10; j++) probabilities[j] = Math.fround(((i * 7919 + j * 104729) % 100_003) / 100_003);
  return answerFromFrame(encodeFrame({ model: 'classifier', version: '2' }, [{ name: 'probabilities', datatype: 'FP32', shape: [1, 10], data: new Uint8Array(probabilities.buffer) }]));
}

async function fill(c: ReturnType<typeof classifierCache>, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await c.cache.getOrCompute('classifier', c.keyOf(i), false, async () => classifierAnswer(i));
}

/** Hits on recent keys, each answer rendered once and kept with it, as the handler's #hitReplies does. */
function hitHotSet(c: ReturnType<typeof classifierCache>, replies: WeakMap<InferAnswer, Buffer>, from: number, to: number, passes: number): number {
  let hits = 0;
  for (let pass = 0; pass < passes; pass++) {
    for (let i = from; i < to; i++) {
      const answer = c.cache.peek(c.keyOf(i)) as InferAnswer | undefined;
      if (!answer) continue;
      hits++;
      if (!replies.has(answer)) replies.set(answer, encodeInferResponse({ modelName: answer.model, modelVersion: answer.version, outputs: answer.tensors }));
    }
  }
  return hits;
}

async function boundProbe(): Promise<object> {
  // Warm-up on a throwaway cache: the code paths compile and their feedback settles before the baseline.
  const warm = classifierCache();
  await fill(warm, 0, 30_000);
  hitHotSet(warm, new WeakMap(), 29_000, 30_000, 2);
  const before = settled();
  const c = classifierCache();
  const replies = new WeakMap<InferAnswer, Buffer>();
  g.keep = [c, replies];
  await fill(c, 0, ANSWERS);
  const afterFill = settled();
  // A sweep larger than the memo (it fills, and churns), then a hot set that fits in it (hits from the memo).
  const hits = hitHotSet(c, replies, ANSWERS - 3000, ANSWERS, 1) + hitHotSet(c, replies, ANSWERS - 500, ANSWERS, 4);
  const afterHot = settled();
  const stats = c.cache.stats();
  return { before, afterFill, afterHot, hits, stats, tierMaxBytes: c.budget.tierMaxBytes, keyLength: c.keyOf(0).length };
}

/** The constants measured again: per-entry growth of the index, and of decoded and rendered memo entries. */
async function costsProbe(): Promise<object> {
  const c = classifierCache();
  const keyLength = c.keyOf(0).length;
  // The tier's index: a Map<key, id> under churn at 50,000 live keys, the worst of several points.
  const ids = new Map<string, number>();
  g.keep = [ids];
  const base = settled();
  let next = 0;
  let oldest = 0;
  for (; next < 50_000; next++) ids.set(c.keyOf(next), next);
  let indexWorst = 0;
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 20_000; i++) {
      ids.delete(c.keyOf(oldest++));
      ids.set(c.keyOf(next), next++);
    }
    indexWorst = Math.max(indexWorst, (settled() - base) / ids.size - keyLength);
  }
  ids.clear();
  // The memo: 5,000 decoded answers (own copies) with a rendered reply each.
  const frames = Array.from({ length: 5000 }, (_, i) => frameOfAnswer(classifierAnswer(i)).slice());
  const memoKeys = frames.map((_, i) => c.keyOf(i));
  const memo = new Map<string, { stamp: number; value: InferAnswer; bytes: number; hit: boolean }>();
  const replies = new WeakMap<InferAnswer, { reply: { status: number; headers: Record<string, string>; body: Buffer } }>();
  g.keep = [frames, memoKeys, memo, replies];
  const memoBase = settled();
  for (let i = 0; i < frames.length; i++) {
    const own = new Uint8Array(frames[i]!.byteLength);
    own.set(frames[i]!);
    const value = answerFromFrame(own);
    memo.set(memoKeys[i]!, { stamp: i, value, bytes: 0, hit: false });
    const body = encodeInferResponse({ modelName: value.model, modelVersion: value.version, outputs: value.tensors });
    replies.set(value, { reply: { status: 200, headers: { 'x-infergate-cache': 'hit' }, body } });
  }
  const memoMeasured = (settled() - memoBase) / frames.length;
  return { keyLength, indexWorst, memoMeasured, memoCounted: memoEntryBytes(memoKeys[0]!, frames[0]!.byteLength) };
}

if (process.env[PROBE_ENV]) {
  const result = process.env[PROBE_ENV] === 'bound' ? await boundProbe() : await costsProbe();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const { default: t } = await import('tap');
  const probe = (kind: string) =>
    new Promise<Record<string, never>>((resolve, reject) => {
      const args = ['--expose-gc', '--single-threaded-gc', '--max-old-space-size=512', import.meta.filename];
      execFile(process.execPath, args, { env: { ...process.env, [PROBE_ENV]: kind }, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!));
      });
    });

  t.test(`200,000 distinct answers stay within memoryMaxBytes (${MEMORY_MAX_BYTES / MiB} MiB), filling and with the hot memo in use`, async (t) => {
    const r = (await probe('bound')) as unknown as {
      before: number;
      afterFill: number;
      afterHot: number;
      hits: number;
      tierMaxBytes: number;
      keyLength: number;
      stats: { hotMemo: { entries: number; bytes: number; maxBytes: number; hits: number }; tiers: { memory: { entries: number; bytes: number; segments: number; evictions: number } } };
    };
    const filled = r.afterFill - r.before;
    const hot = r.afterHot - r.before;
    const { memory } = r.stats.tiers;
    t.comment(`growth after the fill ${(filled / MiB).toFixed(2)} MiB, with the hot memo ${(hot / MiB).toFixed(2)} MiB (bound ${MEMORY_MAX_BYTES / MiB} MiB)`);
    t.comment(`tier: ${memory.entries} entries, ${memory.segments} segments, ${(memory.bytes / MiB).toFixed(2)} MiB counted; memo: ${r.stats.hotMemo.entries} entries, ${(r.stats.hotMemo.bytes / MiB).toFixed(2)} MiB counted; ${r.hits} hits`);
    t.ok(filled <= MEMORY_MAX_BYTES + SLACK_BYTES, 'heap growth after the fill is within the bound');
    t.ok(hot <= MEMORY_MAX_BYTES + SLACK_BYTES, 'heap growth with the hot memo in use is within the bound');
    t.ok(memory.bytes <= r.tierMaxBytes && r.stats.hotMemo.bytes <= r.stats.hotMemo.maxBytes, 'what each counts is within its share');
    t.ok(r.stats.hotMemo.bytes > 0.9 * r.stats.hotMemo.maxBytes && r.stats.hotMemo.hits >= 1500, 'the memo was full and answered the hot set');
    // As many entries as the bound allows: each costs its record, index, key and a table slot (×1–1.5: capacity grows by half).
    const perEntry = recordBytes(166) + INDEX_ENTRY_BYTES + r.keyLength + SLOT_BYTES;
    const allowed = Math.floor(r.tierMaxBytes / perEntry);
    t.comment(`entries allowed at ${perEntry} bytes each (one table slot): ${allowed}; held ${memory.entries}`);
    t.ok(memory.entries <= allowed && memory.entries >= 0.8 * allowed, 'the tier holds what its bound allows, not 200,000 tiny entries');
    t.equal(memory.evictions, ANSWERS - memory.entries, 'the rest were evicted');
  });

  t.test('the per-entry constants cover what V8 measures now', async (t) => {
    const r = (await probe('costs')) as unknown as { keyLength: number; indexWorst: number; memoMeasured: number; memoCounted: number };
    t.comment(`index: ${r.indexWorst.toFixed(1)} bytes per entry beyond the key (counted ${INDEX_ENTRY_BYTES}); memo entry: ${r.memoMeasured.toFixed(0)} measured, ${r.memoCounted} counted`);
    t.ok(r.indexWorst <= INDEX_ENTRY_BYTES, 'INDEX_ENTRY_BYTES covers a Map slot and the key string in churn');
    t.ok(r.memoMeasured <= r.memoCounted, 'a memo entry (decoded and rendered) costs no more than counted');
  });
}
