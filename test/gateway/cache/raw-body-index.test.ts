import t from 'tap';
import { RawBodyIndex } from '../../../gateway/cache/raw-body-index.ts';

const body = (text: string) => Buffer.from(text);
const entry = (key: string) => ({ key, id: undefined, binaryOutputs: undefined });
const roomy = { maxEntries: 100, maxBytes: 1024 * 1024 };

t.test('the fingerprint covers the body and everything that decides how it is parsed', async (t) => {
  const base = RawBodyIndex.fingerprint('m', '1', undefined, body('{"inputs":[]}'));
  t.equal(RawBodyIndex.fingerprint('m', '1', undefined, body('{"inputs":[]}')), base, 'stable');
  for (const other of [
    RawBodyIndex.fingerprint('m', '2', undefined, body('{"inputs":[]}')),
    RawBodyIndex.fingerprint('n', '1', undefined, body('{"inputs":[]}')),
    RawBodyIndex.fingerprint('m', '1', 13, body('{"inputs":[]}')),
    RawBodyIndex.fingerprint('m', '1', undefined, body('{"inputs": []}')),
    RawBodyIndex.fingerprint('m:1', '', undefined, body('{"inputs":[]}')), // no blur between fields
  ]) t.not(other, base);
});

/** set() stores a body the second time it comes; these tests are about what happens once stored. */
function store(index: RawBodyIndex, fingerprint: string, stored: Buffer, key: string): void {
  index.set(fingerprint, stored, entry(key));
  index.set(fingerprint, stored, entry(key));
}

t.test('a body is stored the second time it comes, not the first', async (t) => {
  const index = new RawBodyIndex(roomy);
  const once = body('{"inputs":[1]}');
  const fingerprint = RawBodyIndex.fingerprint('m', '1', undefined, once);
  index.set(fingerprint, once, entry('k'));
  t.same([index.get(fingerprint, once), index.size, index.bytes], [undefined, 0, 0], 'seen once: only the fingerprint is noted');
  index.set(fingerprint, once, entry('k'));
  t.equal(index.get(fingerprint, once)?.key, 'k', 'seen twice: stored');
  const doorkeeper = new RawBodyIndex({ maxEntries: 2, maxBytes: 1024 * 1024 });
  for (const name of ['a', 'b', 'c']) doorkeeper.set(name, body(name), entry(name));
  doorkeeper.set('a', body('a'), entry('a'));
  t.equal(doorkeeper.get('a', body('a')), undefined, 'the doorkeeper is bounded too: the oldest fingerprint was forgotten');
  doorkeeper.set('c', body('c'), entry('c'));
  t.equal(doorkeeper.get('c', body('c'))?.key, 'c');
});

t.test('a body is found only by itself, byte for byte', async (t) => {
  const index = new RawBodyIndex(roomy);
  const stored = body('{"inputs":[1]}');
  const fingerprint = RawBodyIndex.fingerprint('m', '1', undefined, stored);
  store(index, fingerprint, stored, 'k');
  t.equal(index.get(fingerprint, body('{"inputs":[1]}'))?.key, 'k', 'an equal body in another buffer');
  t.equal(index.get(fingerprint, body('{"inputs":[2]}')), undefined, 'a different body under the same fingerprint (a collision) is not answered');
  stored[12] = 0x32; // the caller reuses its buffer: the index kept a copy
  t.equal(index.get(fingerprint, body('{"inputs":[1]}'))?.key, 'k');
});

t.test('CRC-32 collisions share a slot and never answer each other', async (t) => {
  const { a, b } = collidingPair();
  const fa = RawBodyIndex.fingerprint('m', '1', undefined, a);
  t.equal(RawBodyIndex.fingerprint('m', '1', undefined, b), fa, 'the pair collides');
  const index = new RawBodyIndex(roomy);
  store(index, fa, a, 'ka');
  t.equal(index.get(fa, b), undefined, 'b is not answered with a\'s entry');
  index.set(fa, b, entry('kb')); // the slot is taken: a colliding body replaces its holder at once
  t.same([index.get(fa, a), index.get(fa, b)?.key, index.size], [undefined, 'kb', 1], 'the later body holds the slot');
});

t.test('bounded by entries, least recently used out first', async (t) => {
  const index = new RawBodyIndex({ maxEntries: 2, maxBytes: 1024 * 1024 });
  store(index, 'a', body('a'), 'ka');
  store(index, 'b', body('b'), 'kb');
  t.equal(index.get('a', body('a'))?.key, 'ka'); // a is now the most recent
  store(index, 'c', body('c'), 'kc');
  t.same([index.get('a', body('a'))?.key, index.get('b', body('b')), index.get('c', body('c'))?.key, index.size], ['ka', undefined, 'kc', 2]);
  t.equal(new RawBodyIndex({ maxEntries: 0, maxBytes: 1024 }).size, 0);
});

t.test('bounded by bytes; a body over 1/64 of the bound is not indexed', async (t) => {
  const sized = (i: number) => Buffer.alloc(100, i);
  const index = new RawBodyIndex({ maxEntries: 100, maxBytes: 6400 }); // 100-byte bodies cost 356 bytes each: 17 fit
  for (let i = 0; i < 20; i++) store(index, `b${i}`, sized(i), `k${i}`);
  t.same([index.size, index.bytes, index.get('b2', sized(2)), index.get('b3', sized(3))?.key], [17, 17 * 356, undefined, 'k3'], 'the oldest went out');
  const small = new RawBodyIndex({ maxEntries: 100, maxBytes: 64 * 100 });
  store(small, 'big', Buffer.alloc(101), 'k');
  store(small, 'fits', Buffer.alloc(100), 'k');
  t.same([small.get('big', Buffer.alloc(101)), small.get('fits', Buffer.alloc(100))?.key], [undefined, 'k']);
});

/** Two distinct 8-byte buffers with the same CRC-32 (and length), by a birthday search: ~80k tries. */
function collidingPair(): { a: Buffer; b: Buffer } {
  const seen = new Map<number, Buffer>();
  for (let i = 0; ; i++) {
    const candidate = Buffer.alloc(8);
    candidate.writeUInt32LE(i);
    candidate.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, 4);
    const fingerprint = RawBodyIndex.fingerprint('x', '', undefined, candidate);
    const other = seen.get(Number(fingerprint.slice(fingerprint.lastIndexOf(':') + 1)));
    if (other) return { a: other, b: candidate };
    seen.set(Number(fingerprint.slice(fingerprint.lastIndexOf(':') + 1)), candidate);
  }
}
