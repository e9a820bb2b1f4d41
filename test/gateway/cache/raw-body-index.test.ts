import t from 'tap';
import { RawBodyIndex, type BodyContext } from '../../../gateway/cache/raw-body-index.ts';
import { DOORKEEPER_SLOT_BYTES, RAW_BODY_ENTRY_OVERHEAD_BYTES, textListBytes } from '../../../gateway/cache/memory-costs.ts';

const body = (text: string) => Buffer.from(text);
const entry = (key: string) => ({ key, id: undefined, binaryOutputs: undefined });
const roomy = { maxEntries: 100, maxBytes: 1024 * 1024 };
const m1: BodyContext = { model: 'm', version: '1', fingerprint: 'fp-1', binaryHeaderLength: undefined };

/** set() stores a body the second time it comes; most tests are about what happens once stored. */
function store(index: RawBodyIndex, stored: Buffer, key: string, context = m1, fingerprint = RawBodyIndex.fingerprint(stored)): void {
  index.set(context, fingerprint, stored, entry(key));
  index.set(context, fingerprint, stored, entry(key));
}
const find = (index: RawBodyIndex, sent: Buffer, context = m1) => index.get(context, RawBodyIndex.fingerprint(sent), sent)?.key;

t.test('the fingerprint is the CRC-32 of the body, a 32-bit integer', async (t) => {
  const fingerprint = RawBodyIndex.fingerprint(body('{"inputs":[]}'));
  t.ok(Number.isInteger(fingerprint) && fingerprint >= -(2 ** 31) && fingerprint < 2 ** 31);
  t.equal(RawBodyIndex.fingerprint(body('{"inputs":[]}')), fingerprint, 'stable');
  t.not(RawBodyIndex.fingerprint(body('{"inputs": []}')), fingerprint);
});

t.test('a body is stored the second time it comes, not the first', async (t) => {
  const index = new RawBodyIndex(roomy);
  const once = body('{"inputs":[1]}');
  index.set(m1, RawBodyIndex.fingerprint(once), once, entry('k'));
  t.same([find(index, once), index.size, index.bytes], [undefined, 0, DOORKEEPER_SLOT_BYTES], 'seen once: only the fingerprint is noted');
  index.set(m1, RawBodyIndex.fingerprint(once), once, entry('k'));
  t.equal(find(index, once), 'k', 'seen twice: stored');
  const doorkeeper = new RawBodyIndex({ maxEntries: 2, maxBytes: 1024 * 1024 });
  for (const text of ['a', 'b', 'c']) doorkeeper.set(m1, RawBodyIndex.fingerprint(body(text)), body(text), entry(text));
  doorkeeper.set(m1, RawBodyIndex.fingerprint(body('a')), body('a'), entry('a'));
  t.equal(find(doorkeeper, body('a')), undefined, 'the doorkeeper is bounded too: the oldest fingerprint was forgotten');
  doorkeeper.set(m1, RawBodyIndex.fingerprint(body('c')), body('c'), entry('c'));
  t.equal(find(doorkeeper, body('c')), 'c');
});

t.test('a body is found only by itself, byte for byte, in the context it was sent in', async (t) => {
  const index = new RawBodyIndex(roomy);
  const stored = body('{"inputs":[1]}');
  store(index, stored, 'k');
  t.equal(find(index, body('{"inputs":[1]}')), 'k', 'an equal body in another buffer');
  t.equal(index.get(m1, RawBodyIndex.fingerprint(stored), body('{"inputs":[2]}')), undefined, 'another body under the same fingerprint (a collision) is not answered');
  for (const other of [{ ...m1, model: 'n' }, { ...m1, version: '2' }, { ...m1, fingerprint: 'fp-reloaded' }, { ...m1, binaryHeaderLength: 14 }]) {
    t.equal(find(index, stored, other), undefined, `not for ${JSON.stringify(other)}`);
  }
  stored[12] = 0x32; // the caller reuses its buffer: the index kept a copy
  t.equal(find(index, body('{"inputs":[1]}')), 'k');
});

t.test('CRC-32 collisions share a slot and never answer each other', async (t) => {
  const { a, b } = collidingPair();
  const fingerprint = RawBodyIndex.fingerprint(a);
  t.equal(RawBodyIndex.fingerprint(b), fingerprint, 'the pair collides');
  const index = new RawBodyIndex(roomy);
  store(index, a, 'ka');
  t.equal(find(index, b), undefined, "b is not answered with a's entry");
  index.set(m1, fingerprint, b, entry('kb')); // the slot is taken: a colliding body replaces its holder at once
  t.same([find(index, a), find(index, b), index.size], [undefined, 'kb', 1], 'the later body holds the slot');
});

t.test('bounded by entries, least recently used out first', async (t) => {
  const index = new RawBodyIndex({ maxEntries: 2, maxBytes: 1024 * 1024 });
  store(index, body('a'), 'ka');
  store(index, body('b'), 'kb');
  t.equal(find(index, body('a')), 'ka'); // a is now the most recent
  store(index, body('c'), 'kc');
  t.same([find(index, body('a')), find(index, body('b')), find(index, body('c')), index.size], ['ka', undefined, 'kc', 2]);
  t.equal(new RawBodyIndex({ maxEntries: 0, maxBytes: 1024 }).size, 0);
});

t.test('bounded by bytes; a body over 1/64 of the bound is not indexed', async (t) => {
  const sized = (i: number) => Buffer.alloc(100, i);
  const each = 100 + 3 + RAW_BODY_ENTRY_OVERHEAD_BYTES; // a 100-byte body under a 3-character key: 9 fit in 6,400 bytes
  const index = new RawBodyIndex({ maxEntries: 100, maxBytes: 6400 });
  for (let i = 10; i < 30; i++) store(index, sized(i), `k${i}`);
  t.same([index.size, index.bytes, find(index, sized(20)), find(index, sized(21))], [9, 9 * each, undefined, 'k21'], 'the oldest went out');
  t.equal(index.maxBodyBytes, 100);
  const small = new RawBodyIndex({ maxEntries: 100, maxBytes: 64 * 100 });
  store(small, Buffer.alloc(101, 1), 'big');
  store(small, Buffer.alloc(100, 2), 'fits');
  t.same([find(small, Buffer.alloc(101, 1)), find(small, Buffer.alloc(100, 2))], [undefined, 'fits']);
});

/** Two distinct 8-byte buffers with the same CRC-32, by a birthday search: ~80k tries. */
function collidingPair(): { a: Buffer; b: Buffer } {
  const seen = new Map<number, Buffer>();
  for (let i = 0; ; i++) {
    const candidate = Buffer.alloc(8);
    candidate.writeUInt32LE(i);
    candidate.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, 4);
    const other = seen.get(RawBodyIndex.fingerprint(candidate));
    if (other) return { a: other, b: candidate };
    seen.set(RawBodyIndex.fingerprint(candidate), candidate);
  }
}

t.test('an entry counts its body, its key, id and output names by length, and the measured overhead', async (t) => {
  const index = new RawBodyIndex(roomy);
  const sent = body('{"id":"request-1","inputs":[1]}');
  const full = { key: 'infergate:m:1:abc', id: 'request-1', binaryOutputs: ['y'], outputs: ['y', 'z'] };
  index.set(m1, RawBodyIndex.fingerprint(sent), sent, full);
  index.set(m1, RawBodyIndex.fingerprint(sent), sent, full);
  const strings = full.key.length + full.id.length + textListBytes(['y']) + textListBytes(['y', 'z']);
  t.equal(index.bytes, sent.byteLength + strings + RAW_BODY_ENTRY_OVERHEAD_BYTES);
  const unique = new RawBodyIndex({ maxEntries: 100, maxBytes: 64 * 1024 });
  for (let i = 0; i < 500; i++) unique.set(m1, i, body(`{"n":${i}}`), entry('k'));
  t.same([unique.size, unique.bytes], [0, 100 * DOORKEEPER_SLOT_BYTES], 'traffic that never repeats costs only the doorkeeper, bounded by entries');
});
