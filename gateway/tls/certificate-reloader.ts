// Keeps the TLS servers' certificate in step with its files (server.tls):
// a poll every reloadCheckMs, and reload() for SIGHUP. A new pair that
// loads goes to every server added (tls.Server#setSecureContext): new
// handshakes present it, connections already open keep their session.
// A pair that does not load (bad PEM, a key of another certificate, a file
// caught halfway through a write) is logged and the current one kept: the
// servers never lose their certificate, nor a connection.
//
//   each tick: stat both files ──same size/mtime/inode──▶ nothing
//                 └─changed──▶ read both ──same bytes──▶ nothing
//                                 └─new bytes──▶ load ──ok──▶ every server's setSecureContext
//                                                  └─fails──▶ log, keep the current pair
//
// A poll, not fs.watch: a certificate is usually replaced by renaming a new
// file over it (certbot, Kubernetes secret volumes swap a symlink), which a
// watch on the old inode never sees.

import { EventEmitter } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import type { Logger } from '../../common/logger.ts';
import { keyPairOf, secureOptions, type KeyPair, type TlsFiles, type TlsMinVersion } from './tls-context.ts';

/** What the reloader needs of a server: https.Server, http2's secure server and tls.Server all are one. */
export type ReloadableServer = Pick<TlsServer, 'setSecureContext'>;

/** Runs `run` once after `delayMs`; the function returned cancels it. */
export type Schedule = (run: () => void, delayMs: number) => () => void;

export type CertificateReloaderOptions = {
  files: TlsFiles;
  minVersion: TlsMinVersion;
  /** The pair the servers were built with (read at start). */
  initial: KeyPair;
  reloadCheckMs: number;
  logger: Logger;
  /** Default: an unref()ed setTimeout. */
  schedule?: Schedule;
};

export type ReloadOutcome = 'unchanged' | 'reloaded' | 'failed';

type Events = { reloaded: [pair: KeyPair]; failed: [err: Error] };

const unrefTimeout: Schedule = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

export class CertificateReloader extends EventEmitter<Events> {
  readonly #options: CertificateReloaderOptions;
  readonly #schedule: Schedule;
  /** Each server with the options of its own that a new context must keep (ALPN, …). */
  readonly #servers = new Map<ReloadableServer, SecureContextOptions>();
  #pair: KeyPair;
  /** Size, mtime and inode of both files when last read; '' until the first check (which reads them). */
  #seen = '';
  /** Checks and reloads run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #cancel: (() => void) | undefined;
  #closed = false;

  constructor(options: CertificateReloaderOptions) {
    super();
    this.#options = options;
    this.#schedule = options.schedule ?? unrefTimeout;
    this.#pair = options.initial;
  }

  /** The pair the servers hand out now. */
  get pair(): KeyPair {
    return this.#pair;
  }

  /** The options to build a new server with (before it is added). */
  secureOptions(): SecureContextOptions {
    return secureOptions(this.#pair, this.#options.minVersion);
  }

  /** Re-keys `server` at every reload from now on; `own` are its options that are not the pair's (kept on each reload). */
  add(server: ReloadableServer, own: SecureContextOptions = {}): void {
    this.#servers.set(server, own);
  }

  /** Polls the files every reloadCheckMs until close(). */
  start(): void {
    if (this.#closed || this.#cancel) return;
    const tick = (): void => {
      this.#cancel = undefined;
      void this.check().finally(() => {
        if (!this.#closed) this.#cancel = this.#schedule(tick, this.#options.reloadCheckMs);
      });
    };
    this.#cancel = this.#schedule(tick, this.#options.reloadCheckMs);
  }

  /** One poll: loads the files when they changed since the last one. Never rejects. */
  check(): Promise<ReloadOutcome> {
    return this.#serially(async () => {
      const { certFile, keyFile } = this.#options.files;
      let seen: string;
      try {
        const stats = await Promise.all([stat(certFile), stat(keyFile)]);
        seen = stats.map((s) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`).join('|');
      } catch (err) {
        // A file gone (or between a delete and a create): said once, and read again when it is back.
        seen = `error:${(err as NodeJS.ErrnoException).code}`;
        if (seen === this.#seen) return 'unchanged';
        this.#seen = seen;
        return this.#failed(err as Error);
      }
      if (seen === this.#seen) return 'unchanged';
      this.#seen = seen;
      return this.#load(false);
    });
  }

  /** Reads both files now and hands the pair to every server, changed or not (SIGHUP). Never rejects. */
  reload(): Promise<ReloadOutcome> {
    return this.#serially(() => this.#load(true));
  }

  /** Stops polling; a check under way finishes. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #serially(work: () => Promise<ReloadOutcome>): Promise<ReloadOutcome> {
    const done = this.#queue.then(work);
    this.#queue = done.catch(() => {});
    return done;
  }

  async #load(forced: boolean): Promise<ReloadOutcome> {
    const { certFile, keyFile } = this.#options.files;
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    } catch (err) {
      return this.#failed(err as Error);
    }
    let pair: KeyPair;
    try {
      pair = keyPairOf(cert, key);
    } catch (err) {
      return this.#failed(err as Error);
    }
    if (!forced && pair.digest === this.#pair.digest) return 'unchanged';
    for (const [server, own] of this.#servers) {
      try {
        server.setSecureContext({ ...own, ...secureOptions(pair, this.#options.minVersion) });
      } catch (err) {
        // Not expected (the pair made a context already): that server keeps its current context.
        this.#options.logger.error({ err, certFile }, 'a TLS server could not take the new certificate: it keeps the current one');
      }
    }
    const previous = this.#pair;
    this.#pair = pair;
    this.#options.logger.info({ certFile, keyFile, fingerprint256: pair.fingerprint256, validTo: pair.validTo, previousFingerprint256: previous.fingerprint256 }, 'TLS certificate loaded');
    this.emit('reloaded', pair);
    return 'reloaded';
  }

  /**
   * Logs a pair that did not load, and keeps the current one. Said once per change of the files (a poll reads
   * them only when they changed), so a file being written may be said once or twice before it is whole.
   */
  #failed(err: Error): ReloadOutcome {
    const { certFile, keyFile } = this.#options.files;
    this.#options.logger.warn({ err, certFile, keyFile, fingerprint256: this.#pair.fingerprint256 }, 'TLS certificate files could not be loaded: keeping the current certificate');
    this.emit('failed', err);
    return 'failed';
  }
}
