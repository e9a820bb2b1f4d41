// What the in-process cache's structures really cost, measured, and how
// `cache.memoryMaxBytes` is shared between the tier and the hot memo.
//
// A 166-byte classifier answer used to cost ~2.5 KB of RSS (1.0 GB for 404k
// entries in a hostile-client probe): the payload was the only thing counted. Every constant here is a measured cost
// per entry beyond the bytes that grow with it (payload, key characters),
// taken as (heapUsed + external) growth after a full GC in a child process
// (`node --expose-gc --single-threaded-gc`: the single-threaded collector
// frees ArrayBuffers before gc() returns, so `external` is exact), on Node
// 24.21 x64 (no pointer compression), at several sizes and in steady churn
// (delete the oldest, insert a new one): V8's hash tables keep deleted
// slots until they rehash and then hold up to 4 slots per live entry, so the
// figures are the worst seen, not the freshly filled ones.
// test/gateway/cache/memory-bound.test.ts measures them again and fails when
// one no longer covers what it counts.

/**
 * The tier's index per entry beyond its key's characters: the key string's
 * header and padding (flat one-byte string: 16 + ≤ 7 bytes) and its slot in
 * a Map<string, number> (37–74 bytes measured). Measured in total 160–178
 * bytes per entry for 87-character keys at 16k–400k entries (207 at 1,000,
 * where fixed costs weigh): 73–93 beyond the key; 112 leaves a margin.
 * Keys are flat strings (ResultCache.keyFor joins them): a key built by
 * concatenation is a rope of its pieces and measured 360–378 bytes.
 */
export const INDEX_ENTRY_BYTES = 112;

/** Bytes before each payload in a segment: [u32 entry id][u32 payload length]; payloads are padded to 4 bytes. */
export const RECORD_HEADER_BYTES = 8;

/**
 * A decoded answer kept by the hot memo counts frame bytes × 7: its own copy
 * of the frame (1×; the tensors are views into it) and the reply the HTTP
 * layer renders once per answer and keeps with it — a Buffer of JSON, where
 * an FP32 becomes up to 19 characters (4.7× its bytes measured on softmax
 * outputs), and replies over 4 KB get an ArrayBuffer of their own. Measured
 * per entry, decoded and rendered: 1,572–1,830 bytes for a 166-byte frame
 * (FP32 [1,10]), 3,740–3,766 for 528 ([1,100]), 26.2–27.2 KB for 4,130
 * ([1,1000]: 6.3–6.6× the frame, which × 6 would undercount), 94.5 KB for
 * 16,131 ([1,4000]: 5.9×). Datatypes with more JSON per byte (FP16: ~10×)
 * are undercounted; the demo models answer FP32.
 */
export const MEMO_FRAME_FACTOR = 7;

/**
 * …plus this per memo entry beyond its key's characters: the answer, tensor
 * and view objects, the memo's entry and Map slot, and the Reply with its
 * headers, Buffer object and WeakMap slot. With × 7 it covers every case
 * above; the smallest margin is the classifier's (1,830 ≤ 2,017 counted).
 */
export const MEMO_ENTRY_OVERHEAD_BYTES = 768;

/**
 * A raw-body index entry beyond its stored body and its key and id
 * characters: the slot and entry objects, the request context, the body
 * copy's Buffer and ArrayBuffer objects, the string headers and the Map
 * slot. Measured 455–523 bytes per entry (1.3 KB JSON bodies, 87-character
 * keys, 1k–16k entries in churn).
 */
export const RAW_BODY_ENTRY_OVERHEAD_BYTES = 560;

/** A fingerprint in the raw-body index's doorkeeper (a Set of small integers): 40–44 bytes measured in churn. */
export const DOORKEEPER_SLOT_BYTES = 48;

/** A string beyond its characters (one-byte: 16-byte header, padded to 8), and an array beyond its elements. */
export const STRING_HEADER_BYTES = 24;
export const ARRAY_HEADER_BYTES = 32;

/** Bytes counted for a list of strings kept with an entry (e.g. the outputs a request asked for). */
export function textListBytes(list: readonly string[] | undefined): number {
  if (list === undefined) return 0;
  let bytes = ARRAY_HEADER_BYTES;
  for (const text of list) bytes += 8 + STRING_HEADER_BYTES + text.length;
  return bytes;
}

export type MemoryBudget = {
  /** The in-process tier's share (segments and index). */
  tierMaxBytes: number;
  /** The result cache's hot memo of decoded answers. */
  hotMemo: { maxEntries: number; maxBytes: number };
};

/** Decoded answers kept at most: a hot set, not a second copy of the tier. */
export const HOT_MEMO_MAX_ENTRIES = 4_096;

/**
 * `cache.memoryMaxBytes` bounds both: the hot memo gets an eighth (8 MiB of
 * the default 64 MiB: 4,096 decoded and rendered classifier answers, the
 * entry limit, at 2,017 bytes each as counted), the tier the rest.
 */
export function splitMemoryBudget(memoryMaxBytes: number): MemoryBudget {
  const memoBytes = Math.floor(memoryMaxBytes / 8);
  return { tierMaxBytes: memoryMaxBytes - memoBytes, hotMemo: { maxEntries: HOT_MEMO_MAX_ENTRIES, maxBytes: memoBytes } };
}
