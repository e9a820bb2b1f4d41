// A certificate and its key, read from their PEM files (server.tls) and
// checked by building a secure context from them: a key that does not match
// its certificate, a file cut short in the middle of a write, or anything
// that is not PEM fails here, before any server is given the pair.

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../../config/load.ts';

export type TlsFiles = { certFile: string; keyFile: string };

/** Oldest protocol a client may speak (server.tls.minVersion). */
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** A pair that built a secure context, with what tells it apart from another. */
export type KeyPair = {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 over both files' bytes: an unchanged pair is not loaded again. */
  digest: string;
  /** SHA-256 fingerprint of the leaf certificate, as clients see it ("AB:CD:…"), for the logs. */
  fingerprint256: string;
  /** When the leaf certificate expires (its notAfter), for the logs. */
  validTo: string;
};

/** The options a TLS server is built (or re-keyed) with: the pair and the oldest protocol. */
export function secureOptions(pair: KeyPair, minVersion: TlsMinVersion): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion };
}

/** Both files' bytes as a checked pair; throws (Node's error: ENOENT, bad PEM, key values mismatch) when they are not one. */
export function keyPairOf(cert: Buffer, key: Buffer): KeyPair {
  // Throws for anything that is not a usable key and certificate, or for a key of another certificate.
  createSecureContext({ cert, key });
  const leaf = new X509Certificate(cert);
  const digest = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
  return { cert, key, digest, fingerprint256: leaf.fingerprint256, validTo: leaf.validTo };
}

/** Reads the pair again (a reload); rejects as keyPairOf throws. */
export async function readKeyPair(files: TlsFiles): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  return keyPairOf(cert, key);
}

/**
 * Reads the pair at start: a file that cannot be read, or a pair that is not one, is a config error naming the
 * field (`server.tls.certFile`, `server.tls.keyFile`), as any other bad setting.
 */
export function readKeyPairAtStart(files: TlsFiles): KeyPair {
  const read = (field: 'certFile' | 'keyFile'): Buffer => {
    try {
      return readFileSync(files[field]);
    } catch (err) {
      throw new ConfigError(`server.tls.${field}: cannot read ${files[field]}: ${(err as Error).message}`);
    }
  };
  const cert = read('certFile');
  const key = read('keyFile');
  const check = <T>(field: 'certFile' | 'keyFile', what: string, run: () => T): T => {
    try {
      return run();
    } catch (err) {
      throw new ConfigError(`server.tls.${field}: ${files[field]} ${what}: ${(err as Error).message}`);
    }
  };
  check('certFile', 'is not a PEM certificate', () => new X509Certificate(cert));
  check('keyFile', 'is not a PEM private key', () => createPrivateKey(key));
  return check('keyFile', `is not the key of ${files.certFile}`, () => keyPairOf(cert, key));
}
