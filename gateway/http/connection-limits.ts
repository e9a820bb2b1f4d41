// Who may open one more connection: the counting policy behind the HTTP
// front's connection limits (server.maxConnectionsPerAddress and
// server.maxConnections). Pure: server.ts tells it of each connection that
// opens and closes, and closes those it refuses.

export type ConnectionLimitsConfig = { maxConnectionsPerAddress: number; maxConnections: number };

/** Why a connection was refused, for the log and the counts. */
export type Refusal = 'per_address' | 'total';

export class ConnectionLimits {
  readonly #config: ConnectionLimitsConfig;
  /** Open connections by client address; an address with none has no entry (the map stays as large as the clients connected). */
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(config: ConnectionLimitsConfig) {
    this.#config = config;
  }

  /** Counts a new connection from `address` and answers undefined, or answers why it is refused (and counts nothing). */
  open(address: string): Refusal | undefined {
    if (this.#total >= this.#config.maxConnections) return 'total';
    const open = this.#byAddress.get(address) ?? 0;
    if (open >= this.#config.maxConnectionsPerAddress) return 'per_address';
    this.#byAddress.set(address, open + 1);
    this.#total++;
    return undefined;
  }

  /** Uncounts a connection that open() admitted, once it closes. */
  close(address: string): void {
    const open = this.#byAddress.get(address);
    if (open === undefined) return;
    if (open <= 1) this.#byAddress.delete(address);
    else this.#byAddress.set(address, open - 1);
    this.#total--;
  }

  get total(): number {
    return this.#total;
  }

  openFrom(address: string): number {
    return this.#byAddress.get(address) ?? 0;
  }
}
