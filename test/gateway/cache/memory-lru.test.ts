import t from 'tap';
import { MemoryLru } from '../../../gateway/cache/memory-lru.ts';
import { INDEX_ENTRY_BYTES } from '../../../gateway/cache/memory-costs.ts';
import { SLOT_BYTES } from '../../../gateway/cache/entry-table.ts';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

/**
 * Segments of 256 bytes hold 4 records of 56-byte payloads (8-byte header + 56 = 64 each). With 5,000 bytes, a
 * tier of 3-character keys affords 3 segments (12 entries): 768 + the table (64 slots × 41) + 12 × (112 + 3) =
 * 4,772, while a 4th segment would need room for its index too (see #canAllocate).
 */
function tier(maxBytes = 5000, segmentBytes = 256) {
  const clock = { ms: 0 };
  return { cache: new MemoryLru({ maxBytes, now: () => clock.ms, segmentBytes }), clock };
}

const present = (cache: MemoryLru, keys: string[]) => keys.filter((k) => cache.get(k) !== undefined);
const keys = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `k${String(from + i).padStart(2, '0')}`);

t.test('set and get: a copy of the bytes, the TTL left, a stamp that names the stored entry', async (t) => {
  const { cache, clock } = tier();
  const value = bytes(56, 7);
  cache.set('k01', value, 1000);
  value.fill(0); // the caller reuses its buffer: the tier kept a copy
  clock.ms = 400;
  const first = cache.get('k01')!;
  t.same([first.bytes.byteLength, first.bytes[0], first.ttlMs], [56, 7, 600]);
  t.equal(cache.get('k01')!.stamp, first.stamp, 'the same stamp while the entry is the same');
  cache.set('k01', bytes(56, 8), 1000);
  const replaced = cache.get('k01')!;
  t.equal(replaced.bytes[0], 8);
  t.not(replaced.stamp, first.stamp, 'a replaced entry has a new stamp');
  t.equal(cache.get('k02'), undefined);
});

t.test('entries expire after their TTL, on get and when their segment is reclaimed', async (t) => {
  const { cache, clock } = tier();
  cache.set('k01', bytes(56), 500);
  clock.ms = 499;
  t.equal(cache.get('k01')?.ttlMs, 1, 'a hit tells the TTL left');
  clock.ms = 500;
  t.equal(cache.get('k01'), undefined);
  t.match(cache.stats(), { entries: 0, expirations: 1 });
  // Expired and never looked at again: dropped by the reclaim of their segment, counted as expirations.
  for (const k of keys(10, 14)) cache.set(k, bytes(56), 10);
  clock.ms = 600;
  for (const k of keys(20, 30)) cache.set(k, bytes(56), 1000); // the 4th segment needed reclaims k10-k12's
  t.match(cache.stats(), { expirations: 4, evictions: 0 });
  t.same(present(cache, keys(10, 14)), []);
  t.match(cache.stats(), { expirations: 5, evictions: 0 }, 'k13 on get');
});

// Each case: what happens after the tier holds k00..k11 (3 full segments, oldest first: k00-k03, k04-k07, k08-k11).
const evictionCases: Array<{ name: string; hits: string[]; then: string[]; kept: string[]; gone: string[] }> = [
  { name: 'unreferenced: the oldest segment goes first, whole', hits: [], then: keys(12, 13), kept: keys(4, 13), gone: keys(0, 4) },
  { name: 'second chance: entries hit since they were written stay, the rest of their segment goes', hits: ['k01', 'k02'], then: keys(12, 13), kept: ['k01', 'k02', ...keys(4, 13)], gone: ['k00', 'k03'] },
  { name: 'a second chance is one lap: not hit again, they go at the next reclaim of their segment', hits: ['k01'], then: keys(12, 24), kept: keys(15, 24), gone: keys(0, 15) },
  { name: 'hit in every lap, they stay however long the scan', hits: ['k01'], then: [...keys(12, 18), 'get k01', ...keys(18, 24), 'get k01', ...keys(24, 40)], kept: ['k01'], gone: keys(2, 30) },
];
for (const c of evictionCases) {
  t.test(`eviction order — ${c.name}`, async (t) => {
    const { cache } = tier();
    for (const k of keys(0, 12)) cache.set(k, bytes(56), 60_000);
    t.match(cache.stats(), { entries: 12, segments: 3, evictions: 0 });
    for (const k of c.hits) cache.get(k);
    for (const step of c.then) {
      if (step.startsWith('get ')) cache.get(step.slice(4));
      else cache.set(step, bytes(56), 60_000);
    }
    t.same(present(cache, c.kept), c.kept, 'kept');
    t.same(present(cache, c.gone), [], 'gone');
  });
}

t.test('an entry moved by a reclaim keeps its bytes and its stamp (what was decoded from it stays valid)', async (t) => {
  const cases = [
    { name: 'compacted to the front of its reclaimed segment', hot: 'k00', next: 'k12', segments: 3 },
    // A 600-character key: its index takes the total past the bound, so the oldest segment (k04-k07, after k00-k03
    // made room) is freed, and its hit entry copied into the head.
    { name: 'copied into the head when its segment is freed', hot: 'k04', next: 'x'.repeat(600), segments: 2 },
  ];
  for (const c of cases) {
    const { cache } = tier();
    for (const k of keys(0, 12)) cache.set(k, bytes(56, k === c.hot ? 42 : 1), 60_000);
    const { stamp } = cache.get(c.hot)!;
    cache.set(c.next, bytes(56), 60_000);
    const moved = cache.get(c.hot);
    t.same([moved?.bytes.every((b) => b === 42), moved?.stamp, cache.stats().segments], [true, stamp, c.segments], c.name);
    t.ok(cache.stats().evictions >= 3 && cache.stats().bytes <= 5000);
  }
});

t.test('a hot working set that fits stays cached through a long scan of one-off entries', async (t) => {
  const { cache } = tier(64 * 1024, 1024);
  const hot = Array.from({ length: 40 }, (_, i) => `hot-${i}`);
  for (const k of hot) cache.set(k, bytes(100, 9), 60_000);
  let misses = 0;
  for (let i = 0; i < 20_000; i++) {
    cache.set(`scan-${i}`, bytes(100), 60_000);
    // The hot set is asked for a few times per segment written: much more often than a lap of the log.
    if (i % 2 === 0 && !cache.get(hot[(i / 2) % hot.length]!)) misses++;
  }
  t.equal(misses, 0, 'every hot lookup hit');
  t.same(present(cache, hot), hot);
  t.ok(cache.stats().evictions > 19_000, 'while the scan was evicted');
});

t.test('a payload larger than a segment is not stored, and counted', async (t) => {
  const { cache } = tier();
  cache.set('big', bytes(249), 1000); // 8 + 252 > 256
  cache.set('fits', bytes(248), 1000); // 8 + 248 = 256
  t.equal(cache.get('big'), undefined);
  t.ok(cache.get('fits'));
  t.match(cache.stats(), { tooLarge: 1, entries: 1 });
});

t.test('deletePrefix removes one namespace only', async (t) => {
  const { cache } = tier();
  cache.set('p:classifier:1:aa', bytes(1), 1000);
  cache.set('p:classifier:2:bb', bytes(1), 1000);
  cache.set('p:ranker:1:cc', bytes(1), 1000);
  t.equal(cache.deletePrefix('p:classifier:1:'), 1);
  t.equal(cache.deletePrefix('p:classifier:'), 1);
  t.equal(cache.stats().entries, 1);
  t.ok(cache.get('p:ranker:1:cc'));
});

t.test('bytes is the honest total: segments, the entry table, the index and the keys', async (t) => {
  const { cache } = tier();
  cache.set('k01', bytes(10), 1000);
  cache.set('key-2', bytes(20), 1000);
  const stats = cache.stats();
  t.same(stats, {
    entries: 2,
    bytes: 256 + 64 * SLOT_BYTES + 2 * INDEX_ENTRY_BYTES + 3 + 5,
    maxBytes: 5000,
    evictions: 0,
    expirations: 0,
    tooLarge: 0,
    segments: 1,
    segmentBytes: 256,
    payloadBytes: 30,
  });
});

t.test('a tier with no room for one segment stores nothing (memoryMaxBytes 0)', async (t) => {
  const cache = new MemoryLru({ maxBytes: 0, now: () => 0 });
  cache.set('k', bytes(10), 1000);
  t.equal(cache.get('k'), undefined);
  t.match(cache.stats(), { entries: 0, bytes: 0, segments: 0 });
});

t.test('a view from get shows other bytes once its segment is reused: the contract is "valid until the next call"', async (t) => {
  const { cache } = tier();
  cache.set('k00', bytes(56, 1), 60_000);
  const view = cache.get('k00')!.bytes;
  for (const k of keys(1, 12)) cache.set(k, bytes(56, 2), 60_000);
  cache.deletePrefix('k00'); // k00 was hit: without this, its reclaim would keep it
  for (const k of keys(12, 16)) cache.set(k, bytes(56, 3), 60_000);
  t.equal(view[0], 3, 'the old view now shows a later entry');
});

t.test('random workload: always within maxBytes, and every hit answers the bytes last stored for its key', async (t) => {
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const { cache, clock } = tier(40_000, 1024);
  const stored = new Map<string, number>();
  let hits = 0;
  for (let i = 0; i < 30_000; i++) {
    clock.ms += 1;
    const key = `key-${Math.floor(random() * 600)}`;
    if (random() < 0.5) {
      const fill = i & 255;
      cache.set(key, bytes(1 + Math.floor(random() * 300), fill), 200 + Math.floor(random() * 2000));
      stored.set(key, fill);
    } else {
      const found = cache.get(key);
      if (found) {
        hits++;
        if (!found.bytes.every((b) => b === stored.get(key))) t.fail(`${key}: other bytes than stored`);
      }
    }
    if (cache.stats().bytes > 40_000) t.fail(`over the bound at step ${i}: ${cache.stats().bytes}`);
    if (random() < 0.001) cache.deletePrefix(`key-${Math.floor(random() * 6)}`);
  }
  t.ok(hits > 1000, `hits happened (${hits})`);
  t.ok(cache.stats().evictions > 0 && cache.stats().expirations > 0);
});
