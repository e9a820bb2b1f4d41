// A worker's listen addresses (HTTP and mux): their text form on the command
// line, and binding a server to one.

import { lstat, unlink } from 'node:fs/promises';
import { connect, type AddressInfo, type Server } from 'node:net';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** `unix:/path`, `host:port` or `[v6addr]:port` (port 0 = any free port). Throws RangeError saying what is wrong. */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new RangeError('unix: needs a socket path');
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is neither unix:/path nor host:port`);
  const port = Number(match[3]);
  if (port > 65_535) throw new RangeError(`port ${port} is out of range`);
  return { kind: 'tcp', host: (match[1] ?? match[2])!, port };
}

/** How an address is printed: the inverse of parseListenAddress. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

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
