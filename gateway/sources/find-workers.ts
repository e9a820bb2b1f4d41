// Where discovery looks for workers: a fixed list, or a DNS name whose A and
// AAAA records are the workers (a Kubernetes headless Service gives one
// record per ready pod), at one port. A name with no record is an empty
// fleet; a lookup that fails (a timeout, a refused server) is an error, so
// that a DNS outage does not drain every worker.

import { Resolver } from 'node:dns/promises';
import type { FindWorkers, FoundWorker } from './discovery.ts';

/** Every worker's HTTP port and, when they listen for one, their mux port (the same on all). */
type Ports = { port: number; muxPort: number | undefined };

export function listedWorkers(addresses: ReadonlyArray<{ host: string; port: number }>, muxPort: number | undefined): FindWorkers {
  return async () => addresses.map(({ host, port }) => remoteWorker(host, { port, muxPort }));
}

/** A worker at host:port; its replica id names that address. */
function remoteWorker(host: string, { port, muxPort }: Ports): FoundWorker {
  const key = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { id: `remote-${key}`, address: muxPort === undefined ? { host, port } : { host, port, muxPort } };
}

/** Answers that mean "no record of this family", not "the lookup failed". */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

export function dnsWorkers(settings: { name: string; servers: readonly string[]; timeoutMs: number } & Ports): FindWorkers {
  const resolver = new Resolver({ timeout: settings.timeoutMs, tries: 2 });
  if (settings.servers.length > 0) resolver.setServers([...settings.servers]);
  return async () => {
    const families = await Promise.allSettled([resolver.resolve4(settings.name), resolver.resolve6(settings.name)]);
    const hosts: string[] = [];
    for (const family of families) {
      if (family.status === 'fulfilled') hosts.push(...family.value);
      else if (!NO_RECORDS.has((family.reason as NodeJS.ErrnoException).code ?? '')) throw family.reason;
    }
    return [...new Set(hosts)].sort().map((host) => remoteWorker(host, settings));
  };
}
