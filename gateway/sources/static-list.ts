// A source of replicas at fixed addresses: workers that something else runs
// (`infergate worker --listen host:port` on another host, or a unix socket
// of a worker started apart). Each entry becomes a replica that is probed
// until ready like a local one; it is never spawned or killed. A replica
// presumed hung is put back to `starting` and probed again, so that it
// rejoins once its worker answers (and re-reports what it loaded).

import { parseListenAddress } from '../../common/listen-address.ts';
import type { ReplicaHealth } from '../health/replica-health.ts';
import { probeRemote, reprobe, type RemoteProbeSettings } from './remote-probe.ts';
import type { ReplicaAddress, ReplicaClientFactory } from '../replicas/replica-client.ts';
import type { ReplicaSource } from '../replicas/replica-source.ts';
import { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { ModelSelection } from '../../common/model-repository.ts';

export type StaticReplica = { id: string; address: ReplicaAddress; serving: readonly ModelSelection[] };

export type StaticListDeps = RemoteProbeSettings & {
  entries: readonly StaticReplica[];
  replicas: ReplicaSet;
  connect: ReplicaClientFactory;
  healthFor: (replicaId: string) => ReplicaHealth;
};

export class StaticList implements ReplicaSource {
  readonly #deps: StaticListDeps;
  readonly #own: Replica[] = [];
  #closing: Promise<void> | null = null;

  constructor(deps: StaticListDeps) {
    this.#deps = deps;
  }

  start(): void {
    for (const entry of this.#deps.entries) {
      const replica = new Replica({ ...entry, connect: this.#deps.connect, health: this.#deps.healthFor(entry.id) });
      this.#own.push(replica);
      this.#deps.replicas.add(replica);
      void this.#probe(replica);
    }
  }

  restart(replica: Replica, reason: string): boolean {
    if (!this.#own.includes(replica)) return false;
    if (this.#closing || replica.state !== 'ready') return true;
    reprobe(replica, reason, this.#deps.logger, (r) => void this.#probe(r));
    return true;
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all(
      this.#own.map(async (replica) => {
        replica.transition('drain');
        replica.transition('exit');
        this.#deps.replicas.remove(replica);
        await replica.client.close();
      }),
    ).then(() => undefined);
    return this.#closing;
  }

  #probe(replica: Replica): Promise<void> {
    return probeRemote(replica, this.#deps, () => !this.#closing);
  }
}

/** `host:port`, `[ipv6]:port` or `unix:/path` (checked by the config schema) as a replica's address. */
export function replicaAddressOf(text: string): ReplicaAddress {
  const address = parseListenAddress(text);
  return address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
}
