import t from 'tap';
import { RawBodyIndex } from '../../../gateway/cache/raw-body-index.ts';

const body = (text: string) => Buffer.from(text);
const entry = (key: string) => ({ key, id: undefined, binaryOutputs: undefined });

t.test('the digest covers the body and everything that decides how it is parsed', async (t) => {
  const base = RawBodyIndex.digest('m', '1', undefined, body('{"inputs":[]}'));
  t.equal(RawBodyIndex.digest('m', '1', undefined, body('{"inputs":[]}')), base, 'stable');
  for (const other of [
    RawBodyIndex.digest('m', '2', undefined, body('{"inputs":[]}')),
    RawBodyIndex.digest('n', '1', undefined, body('{"inputs":[]}')),
    RawBodyIndex.digest('m', '1', 13, body('{"inputs":[]}')),
    RawBodyIndex.digest('m', '1', undefined, body('{"inputs": []}')),
    RawBodyIndex.digest('m:1', '', undefined, body('{"inputs":[]}')), // no blur between fields
  ]) t.not(other, base);
});

t.test('bounded by entries, least recently used out first', async (t) => {
  const index = new RawBodyIndex(2);
  index.set('a', entry('ka'));
  index.set('b', entry('kb'));
  t.equal(index.get('a')?.key, 'ka'); // a is now the most recent
  index.set('c', entry('kc'));
  t.same([index.get('a')?.key, index.get('b'), index.get('c')?.key, index.size], ['ka', undefined, 'kc', 2]);
  t.equal(new RawBodyIndex(0).size, 0);
});
