// A test CA and server certificates for 127.0.0.1 and localhost, made with
// Debian's openssl in a temp dir (EC P-256: made in milliseconds), and an
// atomic swap of a server's cert and key files as a deployment does it
// (write beside, then rename over).

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

export const OPENSSL = '/usr/bin/openssl';

/** Why the certificates cannot be made here, or undefined when they can. */
export function opensslMissing(): string | undefined {
  return existsSync(OPENSSL) ? undefined : `${OPENSSL} is absent (apt-get install openssl)`;
}

export type ServerCertificate = { certFile: string; keyFile: string; cert: Buffer; key: Buffer; fingerprint256: string };

export type TestCa = { caFile: string; ca: Buffer; issue(name: string): ServerCertificate };

function openssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: 'pipe' });
}

/**
 * The test's CA (in its own test dir) and two certificates it issued, `first` and `second` (one to swap for the
 * other). Without openssl the test file plans nothing and exits, saying why.
 */
export function testCertificates(t: { plan(count: number, comment: string): void; testdir(): string }): { dir: string; ca: TestCa; first: ServerCertificate; second: ServerCertificate } {
  const missing = opensslMissing();
  if (missing) {
    t.plan(0, missing);
    process.exit(0);
  }
  const dir = t.testdir();
  const ca = testCa(dir);
  return { dir, ca, first: ca.issue('first'), second: ca.issue('second') };
}

/** A CA in `dir`; issue(name) makes `<name>.pem` and `<name>.key`, signed by it, for 127.0.0.1 and localhost. */
export function testCa(dir: string): TestCa {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=infergate test CA']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  const caFile = join(dir, 'ca.pem');
  return {
    caFile,
    ca: readFileSync(caFile),
    issue(name) {
      openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'server.ext']);
      const certFile = join(dir, `${name}.pem`);
      const keyFile = join(dir, `${name}.key`);
      const cert = readFileSync(certFile);
      return { certFile, keyFile, cert, key: readFileSync(keyFile), fingerprint256: new X509Certificate(cert).fingerprint256 };
    },
  };
}

/** Puts `bytes` at `file` as a deployment does: written beside it, then renamed over it (readers see the old file or the new, whole). */
export function replaceFile(file: string, bytes: Buffer | string): void {
  const next = `${file}.next`;
  writeFileSync(next, bytes);
  renameSync(next, file);
}
