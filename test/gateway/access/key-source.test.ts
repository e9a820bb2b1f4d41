import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { keyDigest } from '../../../gateway/access/api-keys.ts';
import { KeySource, parseKeysFile } from '../../../gateway/access/key-source.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { until } from '../../helpers/until.ts';

const entry = (name: string) => ({ name, sha256: keyDigest(`key-of-${name}`), operations: ['infer'] });

/** Replaces the file at once, as an editor or a config tool does (write aside, rename over). */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

t.test('a keys file: read at start, a revoked key gone within a check, a broken file keeps the keys in force', async (t) => {
  const path = join(t.testdir(), 'keys.yaml');
  writeFileSync(path, stringify({ keys: [entry('alice'), entry('bob')] }));
  const { logger, lines } = captureLogger();
  const source = new KeySource({ origin: { kind: 'file', path }, reloadCheckMs: 20, logger }).start();
  t.teardown(() => source.close());
  t.equal(source.table?.size, 2);
  t.equal(source.table?.find('key-of-bob')?.name, 'bob');

  replace(path, stringify({ keys: [entry('alice')] }));
  t.ok(await until(() => source.table?.find('key-of-bob') === undefined, 5000, 5), 'bob revoked');
  t.equal(source.table?.find('key-of-alice')?.name, 'alice');

  replace(path, 'keys: [ {name: alice, sha256: nothex} ]');
  t.ok(await until(() => lines().some((l) => l.level === 'error' && /not reloaded/.test(l.msg)), 5000, 5), 'the broken file is reported');
  t.equal(source.table?.find('key-of-alice')?.name, 'alice', 'the keys read before stay in force');
  await t.rejects(source.reload(), /keys\.0\.sha256/, 'a reload by hand names the field');
  const errors = lines().filter((l) => l.level === 'error').length;
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(lines().filter((l) => l.level === 'error').length, errors, 'a lasting failure is logged once, not at every check');

  replace(path, stringify({ keys: [entry('carol')] }));
  t.ok(await until(() => source.table?.find('key-of-carol') !== undefined, 5000, 5));
  t.same(await source.reload(), { keys: 1 });
});

t.test('a keys file that is missing or invalid at start is a config error naming auth.keysFile', async (t) => {
  const dir = t.testdir();
  const { logger } = captureLogger();
  t.throws(() => new KeySource({ origin: { kind: 'file', path: join(dir, 'none.yaml') }, reloadCheckMs: 100, logger }).start(), { name: 'ConfigError', message: /auth\.keysFile: .*ENOENT/ });
  const path = join(dir, 'dup.yaml');
  writeFileSync(path, stringify({ keys: [entry('a'), { ...entry('b'), sha256: entry('a').sha256 }] }));
  t.throws(() => new KeySource({ origin: { kind: 'file', path }, reloadCheckMs: 100, logger }).start(), { message: /keys\.1\.sha256: the same key is listed twice/ });
  t.throws(() => parseKeysFile('keys: [{name: a, sha256: x}]', 'f.yaml'), /invalid keys file f\.yaml: keys\.0\.sha256/);
  t.throws(() => parseKeysFile('keys: [', 'f.yaml'), /f\.yaml is not valid YAML/);
  t.same(parseKeysFile('', 'empty.yaml'), [], 'an empty file: no keys');
});

t.test('keys from a Redis hash: each field a key; a bad entry is left out, not every key', async (t) => {
  let fields: Record<string, string> = {
    alice: JSON.stringify({ sha256: keyDigest('key-of-alice'), models: ['classifier'] }),
    broken: '{not json',
    invalid: JSON.stringify({ sha256: 'short' }),
  };
  let reads = 0;
  let down = false;
  const { logger, lines } = captureLogger();
  const source = new KeySource({
    origin: {
      kind: 'redis',
      hash: 'infergate:keys',
      read: async (hash) => {
        reads++;
        t.equal(hash, 'infergate:keys');
        if (down) throw new Error('connection refused');
        return fields;
      },
    },
    reloadCheckMs: 20,
    logger,
  }).start();
  t.teardown(() => source.close());
  t.ok(await until(() => source.table !== undefined, 5000, 5));
  t.equal(source.table?.size, 1);
  t.same(source.table?.find('key-of-alice')?.mayCall('classifier'), true);
  t.ok(lines().some((l) => l.key === 'broken') && lines().some((l) => l.key === 'invalid'), 'each bad entry is named in the log');

  down = true;
  const before = reads;
  t.ok(await until(() => reads > before + 2, 5000, 5));
  t.equal(source.table?.size, 1, 'Redis down: the keys read before stay');
  down = false;
  fields = {};
  t.ok(await until(() => source.table?.size === 0, 5000, 5), 'HDEL: revoked at the next check');
});
