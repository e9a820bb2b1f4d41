import t from 'tap';
import { HotMemo, memoEntryBytes } from '../../../gateway/cache/hot-memo.ts';
import { MEMO_ENTRY_OVERHEAD_BYTES, MEMO_FRAME_FACTOR } from '../../../gateway/cache/memory-costs.ts';

const value = (n: number) => ({ n });

t.test('a value is found only under the stamp it was decoded from', async (t) => {
  const memo = new HotMemo<{ n: number }>({ maxEntries: 10, maxBytes: 1 << 20 });
  const one = value(1);
  memo.set('k', 7, one, 100);
  t.equal(memo.get('k', 7), one, 'the same object');
  t.equal(memo.get('k', 8), undefined, 'the tier holds another entry under this key now');
  t.equal(memo.get('other', 7), undefined);
  t.match(memo.stats(), { entries: 1, hits: 1, misses: 2 });
});

t.test('an entry counts frame × 7, the measured overhead and its key', async (t) => {
  t.equal(memoEntryBytes('key', 166), 166 * MEMO_FRAME_FACTOR + MEMO_ENTRY_OVERHEAD_BYTES + 3);
  const memo = new HotMemo<{ n: number }>({ maxEntries: 10, maxBytes: 1 << 20 });
  memo.set('a', 1, value(1), 166);
  memo.set('bb', 2, value(2), 10);
  t.equal(memo.stats().bytes, memoEntryBytes('a', 166) + memoEntryBytes('bb', 10));
  memo.set('a', 3, value(3), 10); // replaced: its old bytes are freed
  t.equal(memo.stats().bytes, memoEntryBytes('a', 10) + memoEntryBytes('bb', 10));
  memo.deletePrefix('b');
  t.same([memo.stats().entries, memo.stats().bytes], [1, memoEntryBytes('a', 10)]);
});

// CLOCK over insertion order: each case inserts k0..k3 in a memo of 3 entries, after hitting some of the first three.
const clockCases: Array<{ name: string; hit: string[]; kept: string[] }> = [
  { name: 'none hit: the oldest goes (FIFO)', hit: [], kept: ['k1', 'k2', 'k3'] },
  { name: 'the oldest was hit: it gets a second chance, the next oldest goes', hit: ['k0'], kept: ['k0', 'k2', 'k3'] },
  { name: 'all hit: every bit is cleared once, then the oldest goes', hit: ['k0', 'k1', 'k2'], kept: ['k1', 'k2', 'k3'] },
];
for (const c of clockCases) {
  t.test(`bounded by entries — ${c.name}`, async (t) => {
    const memo = new HotMemo<{ n: number }>({ maxEntries: 3, maxBytes: 1 << 20 });
    for (let i = 0; i < 3; i++) memo.set(`k${i}`, i, value(i), 10);
    for (const k of c.hit) memo.get(k, Number(k.slice(1)));
    memo.set('k3', 3, value(3), 10);
    const kept = ['k0', 'k1', 'k2', 'k3'].filter((k) => memo.get(k, Number(k.slice(1))) !== undefined);
    t.same(kept, c.kept);
    t.equal(memo.stats().evictions, 1);
  });
}

t.test('bounded by bytes; a value that cannot fit alone is not kept', async (t) => {
  const each = memoEntryBytes('k0', 100);
  const memo = new HotMemo<{ n: number }>({ maxEntries: 100, maxBytes: 2 * each + 1 });
  for (let i = 0; i < 4; i++) memo.set(`k${i}`, i, value(i), 100);
  t.same([memo.stats().entries, memo.stats().bytes], [2, 2 * each]);
  t.ok(memo.get('k3', 3) && memo.get('k2', 2));
  memo.set('huge', 9, value(9), 1 << 20);
  t.equal(memo.get('huge', 9), undefined);
  t.equal(memo.stats().entries, 2, 'nothing was evicted for it');
});
