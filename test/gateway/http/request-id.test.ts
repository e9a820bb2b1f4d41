import t from 'tap';
import { requestIdOf, requestIds } from '../../../gateway/http/request-id.ts';

const GENERATED = 'generated-id';
const generate = () => GENERATED;

t.test("a client's sane x-request-id is kept as it is", async (t) => {
  const table: Array<[string, string]> = [
    ['a uuid', '3f2a9c1e-8d4b-4c6a-9e1f-2b7d5a0c8e41'],
    ['one character', 'x'],
    ['128 characters', 'a'.repeat(128)],
    ['every allowed punctuation', 'svc/req-1.2_3:4@host+b64=='],
    ['a ulid', '01ARZ3NDEKTSV4RRFFQ69G5FAV'],
  ];
  for (const [name, header] of table) t.equal(requestIdOf(header, generate), header, name);
});

t.test('an absent or insane x-request-id is replaced by a generated one', async (t) => {
  const table: Array<[string, string | string[] | undefined]> = [
    ['absent', undefined],
    ['empty', ''],
    ['129 characters', 'a'.repeat(129)],
    ['10 KB', 'a'.repeat(10 * 1024)],
    ['a newline (a forged log line)', 'req-1\n{"level":"error","msg":"forged"}'],
    ['a carriage return', 'req-1\rx'],
    ['a tab (Node lets it through)', 'req\t1'],
    ['a NUL', 'req\u00001'],
    ['an escape sequence', 'req-\u001b[31mred'],
    ['DEL', 'req\u007f'],
    ['a space', 'req 1'],
    ['a quote', 'req"1'],
    ['a backslash', 'req\\1'],
    ['non-ASCII', 'req-é'],
    // Node joins a repeated x-request-id into one value with ", ".
    ['a repeated header, as Node joins it', 'req-1, req-2'],
    ['a repeated header, as an array', ['req-1', 'req-2']],
    ['an array of one', ['req-1']],
  ];
  for (const [name, header] of table) t.equal(requestIdOf(header, generate), GENERATED, name);
});

t.test('the generator is called only when the id is replaced', async (t) => {
  let calls = 0;
  const counting = () => `gen-${++calls}`;
  t.equal(requestIdOf('kept', counting), 'kept');
  t.equal(calls, 0);
  t.equal(requestIdOf('bad id', counting), 'gen-1');
  t.equal(requestIdOf(undefined, counting), 'gen-2');
});

t.test('generated ids: one random prefix per generator, then a counter; sane, distinct, and distinct across generators', async (t) => {
  const next = requestIds();
  const ids = Array.from({ length: 1000 }, next);
  t.equal(new Set(ids).size, 1000, 'no id repeats');
  for (const id of [ids[0]!, ids[999]!]) t.equal(requestIdOf(id, () => 'replaced'), id, `${id} is a sane id (a client may send it back)`);
  t.match(ids[0], /^[0-9a-f]{16}-1$/);
  t.not(requestIds()().split('-')[0], ids[0]!.split('-')[0], 'another process draws another prefix');
  t.equal(requestIds('fixed')(), 'fixed-1');
});
