// server.tls: the certificate both fronts (HTTPS and gRPC over TLS) are
// built with, and the reloader that re-keys them when its files change or
// on SIGHUP (main.ts). Absent: both fronts in cleartext, and no reloader.
// With server.processes > 1 each process reads and polls the files itself.

import type { Logger } from '../common/logger.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { CertificateReloader } from './tls/certificate-reloader.ts';
import { readKeyPairAtStart } from './tls/tls-context.ts';

/** The certificate reload of the gateway's TLS fronts: each front adds its server; SIGHUP calls reload(); close() stops the poll. */
export type TlsReloader = CertificateReloader;

/** Reads the pair (a ConfigError naming server.tls.certFile or keyFile when it is not one) and starts polling its files; null without server.tls. */
export function buildTls(config: GatewayConfig, logger: Logger): TlsReloader | null {
  const tls = config.server.tls;
  if (!tls) return null;
  const files = { certFile: tls.certFile, keyFile: tls.keyFile };
  const reloader = new CertificateReloader({ files, minVersion: tls.minVersion, initial: readKeyPairAtStart(files), reloadCheckMs: tls.reloadCheckMs, logger });
  reloader.start();
  return reloader;
}
