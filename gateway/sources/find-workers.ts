// Where discovery looks for workers: a fixed list, or a DNS name whose A and
// AAAA records are the workers (a Kubernetes headless Service gives one
// record per ready pod), at one port. A name with no record is an empty
// fleet; a lookup that fails (a timeout, a refused server) is an error, so
// that a DNS outage does not drain every worker.

import { Resolver } from 'node:dns/promises';
import type { FindWorkers } from './discovery.ts';

export function listedWorkers(addresses: ReadonlyArray<{ host: string; port: number }>): FindWorkers {
  return async () => [...addresses];
}

/** Answers that mean "no record of this family", not "the lookup failed". */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

export function dnsWorkers(settings: { name: string; port: number; servers: readonly string[]; timeoutMs: number }): FindWorkers {
  const resolver = new Resolver({ timeout: settings.timeoutMs, tries: 2 });
  if (settings.servers.length > 0) resolver.setServers([...settings.servers]);
  return async () => {
    const families = await Promise.allSettled([resolver.resolve4(settings.name), resolver.resolve6(settings.name)]);
    const hosts: string[] = [];
    for (const family of families) {
      if (family.status === 'fulfilled') hosts.push(...family.value);
      else if (!NO_RECORDS.has((family.reason as NodeJS.ErrnoException).code ?? '')) throw family.reason;
    }
    return [...new Set(hosts)].sort().map((host) => ({ host, port: settings.port }));
  };
}
