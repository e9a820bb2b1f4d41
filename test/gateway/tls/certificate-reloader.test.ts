// The certificate reloader against real files and a fake server: a changed
// pair reaches every server, an unchanged one (even touched) does not, a
// pair that does not load is logged and the current one kept, reload()
// applies the files whatever they hold, and close() ends the poll.

import { once } from 'node:events';
import { copyFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import t from 'tap';
import { CertificateReloader, type Schedule } from '../../../gateway/tls/certificate-reloader.ts';
import { readKeyPairAtStart } from '../../../gateway/tls/tls-context.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';
import { replaceFile, testCertificates, type ServerCertificate } from '../../helpers/test-certificates.ts';

const { dir, first, second } = testCertificates(t);

/** A server that records each context it is given. */
function fakeServer(): { setSecureContext(options: SecureContextOptions): void; given: SecureContextOptions[] } {
  const given: SecureContextOptions[] = [];
  return { given, setSecureContext: (options) => void given.push(options) };
}

let pairs = 0;
/** Live cert and key files holding `from`, and a reloader over them (not polling unless started). */
function setUp(from: ServerCertificate, schedule?: Schedule) {
  const files = { certFile: join(dir, `live-${pairs}.pem`), keyFile: join(dir, `live-${pairs++}.key`) };
  copyFileSync(from.certFile, files.certFile);
  copyFileSync(from.keyFile, files.keyFile);
  const log = captureLogger();
  const reloader = new CertificateReloader({ files, minVersion: 'TLSv1.3', initial: readKeyPairAtStart(files), reloadCheckMs: 20, logger: log.logger, ...(schedule ? { schedule } : {}) });
  const server = fakeServer();
  reloader.add(server, { ALPNProtocols: ['h2'] } as SecureContextOptions);
  const swapTo = (to: ServerCertificate): void => {
    replaceFile(files.keyFile, to.key);
    replaceFile(files.certFile, to.cert);
  };
  return { files, log, reloader, server, swapTo };
}

t.test('a changed pair goes to every server, with the server own options and minVersion', async (t) => {
  const { reloader, server, swapTo, log } = setUp(first);
  const other = fakeServer();
  reloader.add(other);
  t.equal(await reloader.check(), 'unchanged', 'the first poll reads the files the servers were built with');
  swapTo(second);
  t.equal(await reloader.check(), 'reloaded');
  t.equal(reloader.pair.fingerprint256, second.fingerprint256);
  t.equal(server.given.length, 1);
  t.same(server.given[0], { ALPNProtocols: ['h2'], cert: second.cert, key: second.key, minVersion: 'TLSv1.3' });
  t.equal(other.given.length, 1, 'every server added is re-keyed');
  t.equal(await reloader.check(), 'unchanged', 'nothing changed since');
  t.match(log.lines().find((l) => l.msg === 'TLS certificate loaded'), { fingerprint256: second.fingerprint256, previousFingerprint256: first.fingerprint256 });
});

t.test('a file touched but not changed is not loaded again', async (t) => {
  const { reloader, server, files } = setUp(first);
  await reloader.check();
  utimesSync(files.certFile, new Date(), new Date(Date.now() + 5000));
  t.equal(await reloader.check(), 'unchanged');
  t.equal(server.given.length, 0);
});

t.test('a pair that does not load is logged, and the current one kept until a good one comes', async (t) => {
  const cases: Array<{ name: string; breakFiles: (files: { certFile: string; keyFile: string }) => void }> = [
    { name: 'a key of another certificate', breakFiles: (files) => replaceFile(files.keyFile, second.key) },
    { name: 'a certificate cut short (a write under way)', breakFiles: (files) => replaceFile(files.certFile, second.cert.subarray(0, 200)) },
    { name: 'a certificate that is not PEM', breakFiles: (files) => replaceFile(files.certFile, 'not a certificate\n') },
    { name: 'a key file gone', breakFiles: (files) => replaceFile(files.keyFile, '') },
  ];
  for (const c of cases) {
    const { reloader, server, files, log, swapTo } = setUp(first);
    await reloader.check();
    c.breakFiles(files);
    t.equal(await reloader.check(), 'failed', `${c.name}: failed`);
    t.equal(reloader.pair.fingerprint256, first.fingerprint256, `${c.name}: the current pair is kept`);
    t.equal(server.given.length, 0, `${c.name}: no server was given it`);
    t.equal(log.lines().filter((l) => l.level === 'warn' && /could not be loaded/.test(l.msg)).length, 1, `${c.name}: logged once`);
    t.equal(await reloader.check(), 'unchanged', `${c.name}: not read again until the files change`);
    swapTo(second);
    t.equal(await reloader.check(), 'reloaded', `${c.name}: a whole pair later loads`);
  }
});

t.test('reload() reads the files now and applies them, changed or not; a bad pair is refused as by the poll', async (t) => {
  const { reloader, server, files } = setUp(first);
  t.equal(await reloader.reload(), 'reloaded');
  t.equal(server.given.length, 1, 'applied although unchanged (SIGHUP is an order)');
  replaceFile(files.keyFile, second.key);
  t.equal(await reloader.reload(), 'failed');
  t.equal(reloader.pair.fingerprint256, first.fingerprint256);
  replaceFile(files.certFile, second.cert);
  t.equal(await reloader.reload(), 'reloaded');
  t.equal(reloader.pair.fingerprint256, second.fingerprint256);
});

t.test('start() polls every reloadCheckMs; close() ends the poll', async (t) => {
  const scheduled: Array<{ run: () => void; delayMs: number; cancelled: boolean }> = [];
  const schedule: Schedule = (run, delayMs) => {
    const entry = { run, delayMs, cancelled: false };
    scheduled.push(entry);
    return () => void (entry.cancelled = true);
  };
  const { reloader, swapTo } = setUp(first, schedule);
  reloader.start();
  reloader.start();
  t.equal(scheduled.length, 1, 'one poll at a time');
  t.equal(scheduled[0]!.delayMs, 20);
  swapTo(second);
  const reloaded = once(reloader, 'reloaded');
  scheduled[0]!.run();
  await reloaded;
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(scheduled.length, 2, 'the next poll is set once this one ended');
  reloader.close();
  t.equal(scheduled[1]!.cancelled, true, 'close cancels the next poll');
  t.equal(scheduled.length, 2);
});

t.test('with real timers, a swapped pair is picked up by the poll alone', async (t) => {
  // The reloader's own timer is unref()ed (it never holds a gateway open): here a ref'ed one keeps the test alive.
  const { reloader, swapTo } = setUp(first, (run, delayMs) => {
    const timer = setTimeout(run, delayMs);
    return () => clearTimeout(timer);
  });
  t.teardown(() => reloader.close());
  await reloader.check();
  reloader.start();
  const reloaded = once(reloader, 'reloaded');
  swapTo(second);
  const [pair] = await reloaded;
  t.equal(pair.fingerprint256, second.fingerprint256);
});

t.test('at start, a file that cannot be read or a pair that is not one names its field', async (t) => {
  t.throws(() => readKeyPairAtStart({ certFile: join(dir, 'absent.pem'), keyFile: first.keyFile }), { name: 'ConfigError', message: /^server\.tls\.certFile: cannot read .*absent\.pem/ });
  t.throws(() => readKeyPairAtStart({ certFile: first.certFile, keyFile: join(dir, 'absent.key') }), { message: /^server\.tls\.keyFile: cannot read/ });
  t.throws(() => readKeyPairAtStart({ certFile: first.keyFile, keyFile: first.keyFile }), { message: /^server\.tls\.certFile: .* is not a PEM certificate/ });
  t.throws(() => readKeyPairAtStart({ certFile: first.certFile, keyFile: first.certFile }), { message: /^server\.tls\.keyFile: .* is not a PEM private key/ });
  t.throws(() => readKeyPairAtStart({ certFile: first.certFile, keyFile: second.keyFile }), { message: /^server\.tls\.keyFile: .* is not the key of/ });
});
