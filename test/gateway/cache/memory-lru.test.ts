import t from 'tap';
import { MemoryLru } from '../../../gateway/cache/memory-lru.ts';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

function lru(maxBytes: number) {
  const clock = { ms: 0 };
  return { cache: new MemoryLru({ maxBytes, now: () => clock.ms }), clock };
}

t.test('evicts least recently used entries to stay within the byte bound', async (t) => {
  const { cache } = lru(100);
  cache.set('a', bytes(40), 1000);
  cache.set('b', bytes(40), 1000);
  t.ok(cache.get('a'), 'a is now most recently used');
  cache.set('c', bytes(40), 1000); // 120 bytes > 100: evict b, the least recently used
  t.equal(cache.get('b'), undefined);
  t.ok(cache.get('a'));
  t.ok(cache.get('c'));
  t.same(cache.stats(), { entries: 2, bytes: 80, maxBytes: 100, evictions: 1, expirations: 0 });
});

t.test('a value larger than the whole cache is not stored; replacing a key frees its bytes', async (t) => {
  const { cache } = lru(100);
  cache.set('huge', bytes(101), 1000);
  t.equal(cache.get('huge'), undefined);
  cache.set('k', bytes(60), 1000);
  cache.set('k', bytes(30, 7), 1000);
  t.equal(cache.stats().bytes, 30);
  t.equal(cache.get('k')!.bytes[0], 7);
});

t.test('entries expire after their TTL', async (t) => {
  const { cache, clock } = lru(100);
  cache.set('a', bytes(10), 500);
  clock.ms = 499;
  t.equal(cache.get('a')?.ttlMs, 1, 'a hit tells the TTL left');
  clock.ms = 500;
  t.equal(cache.get('a'), undefined);
  t.equal(cache.stats().expirations, 1);
  t.equal(cache.stats().bytes, 0);
});

t.test('deletePrefix removes one namespace only', async (t) => {
  const { cache } = lru(1000);
  cache.set('p:classifier:1:aa', bytes(1), 1000);
  cache.set('p:classifier:2:bb', bytes(1), 1000);
  cache.set('p:ranker:1:cc', bytes(1), 1000);
  t.equal(cache.deletePrefix('p:classifier:1:'), 1);
  t.equal(cache.deletePrefix('p:classifier:'), 1);
  t.equal(cache.stats().entries, 1);
});
