// Binding a worker's server to its listen address (common/listen-address.ts).

import { lstat, unlink } from 'node:fs/promises';
import { connect, type AddressInfo, type Server } from 'node:net';
import type { ListenAddress } from '../common/listen-address.ts';

/** Binds `server` (a stale unix socket file is removed first); resolves with the bound address (TCP port 0 → the real port). */
export async function listenOn(server: Server, address: ListenAddress): Promise<ListenAddress> {
  if (address.kind === 'unix') await removeStaleUnixSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const onListening = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, onListening);
    else server.listen(address.port, address.host, onListening);
  });
  if (address.kind === 'unix') return address;
  return { kind: 'tcp', host: address.host, port: (server.address() as AddressInfo).port };
}

/**
 * A unix socket file left by a worker that died without closing is removed;
 * one a live process still accepts on is not (binding would steal its name).
 */
export async function removeStaleUnixSocket(path: string): Promise<void> {
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!info) return;
  if (!info.isSocket()) throw new Error(`${path} exists and is not a unix socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another process is listening on ${path}`);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
