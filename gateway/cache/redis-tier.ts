// The shared cache tier in Redis, fail-open: every call goes through a
// circuit breaker and a timeout, and a failure only ever costs the cache,
// never the request (get answers "not found", set drops the write).
//
//   get  ──breaker admits?──no──▶ undefined (≈0 ms while Redis is down)
//          │yes
//          └─▶ GET key (≤ timeoutMs) ──error/timeout──▶ undefined, counted
//
// Values are binary: [u8 format][u64 LE expiry, epoch ms][answer bytes],
// written with SET … PX so Redis expires them itself; the expiry inside lets
// a hit refill the in-process tier for only the time the entry has left.
// Purge walks the keyspace with SCAN (never KEYS, which blocks Redis) and
// removes each batch with UNLINK (freed in Redis's background thread); on a
// Cluster it walks every primary. A purge is also published on a channel so
// every gateway drops the same prefix from its in-process tier.

import { silentLogger, type Logger } from '../../common/logger.ts';
import type { Breaker } from '../resilience/circuit-breaker.ts';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis-client.ts';
import type { CacheTier, TierEntry } from './tier.ts';

const FORMAT = 1;
const HEADER_BYTES = 9;
/** Keys asked for per SCAN step: large enough to be quick, small enough that one step never stalls Redis. */
const SCAN_COUNT = 500;

export type RedisTierOptions = {
  client: RedisClient;
  breaker: Breaker;
  /** The breaker's bucket clock, stopped on close when given. */
  clock?: { stop(): void };
  /** Receives purge notices from every gateway (a second connection: a subscribed one can run nothing else). */
  subscriber?: RedisClient;
  /** A connection for a purge (longer timeout, outside the breaker), quit once it is done; default: `client`. */
  adminClient?: () => RedisClient;
  /** How long a purge waits for its Cluster connection. */
  adminTimeoutMs?: number;
  /** Pub/sub channel of purge notices. */
  channel: string;
  /** Called with the key prefix of a purge, from this gateway or another. */
  onPurge?: (prefix: string) => void;
  /** Wall clock (epoch ms): expiries are shared by gateways. */
  wallNow?: () => number;
  logger?: Logger;
};

export type RedisTierStats = {
  gets: number;
  hits: number;
  misses: number;
  sets: number;
  /** Calls that failed or timed out (each counted by the breaker too). */
  errors: number;
  timeouts: number;
  /** Calls not made because the breaker was open. */
  skipped: number;
  bytesRead: number;
  bytesWritten: number;
  purged: number;
};

export class RedisTier implements CacheTier {
  readonly name = 'redis';
  readonly #deps: RedisTierOptions;
  readonly #now: () => number;
  readonly #stats: RedisTierStats = { gets: 0, hits: 0, misses: 0, sets: 0, errors: 0, timeouts: 0, skipped: 0, bytesRead: 0, bytesWritten: 0, purged: 0 };
  #lastError = '';

  constructor(options: RedisTierOptions) {
    this.#deps = options;
    this.#now = options.wallNow ?? Date.now;
    const logger = options.logger ?? silentLogger();
    // ioredis reports connection trouble as 'error' events (and prints them when nobody listens).
    options.client.on('error', (err: Error) => this.#noteError(err, logger));
    options.client.on('ready', () => logger.info('redis cache tier connected'));
    const { subscriber } = options;
    if (subscriber) {
      subscriber.on('error', () => {});
      subscriber.on('message', (channel: string, prefix: string) => {
        if (channel === options.channel) options.onPurge?.(prefix);
      });
      // On every (re)connection: the subscriber client does not re-subscribe by itself (see redis-client.ts).
      subscriber.on('ready', () => {
        subscriber.subscribe(options.channel).catch((err: Error) => logger.warn({ channel: options.channel, err }, 'redis purge channel: cannot subscribe'));
      });
    }
  }

  get(key: string): Promise<TierEntry | undefined> | undefined {
    if (!this.#deps.breaker.admits()) {
      this.#stats.skipped++;
      return undefined;
    }
    this.#stats.gets++;
    return this.#call(() => this.#deps.client.getBuffer(key)).then(
      (value) => {
        const entry = value ? this.#decode(value) : undefined;
        if (!entry) {
          this.#stats.misses++;
          return undefined;
        }
        this.#stats.hits++;
        this.#stats.bytesRead += value!.byteLength;
        return entry;
      },
      () => undefined,
    );
  }

  set(key: string, bytes: Uint8Array, ttlMs: number): void {
    if (!this.#deps.breaker.admits()) {
      this.#stats.skipped++;
      return;
    }
    const ms = Math.ceil(ttlMs);
    const value = Buffer.allocUnsafe(HEADER_BYTES + bytes.byteLength);
    value.writeUInt8(FORMAT, 0);
    writeU64(value, this.#now() + ms, 1);
    value.set(bytes, HEADER_BYTES);
    this.#call(() => this.#deps.client.set(key, value, 'PX', ms)).then(
      () => {
        this.#stats.sets++;
        this.#stats.bytesWritten += value.byteLength;
      },
      () => {},
    );
  }

  /**
   * Removes every key under `prefix` on every primary and tells every gateway;
   * rejects when Redis fails meanwhile. Admin work: it runs on its own
   * connection with a longer timeout, outside the breaker (a slow purge must
   * neither fail half-way on a busy gateway nor open the requests' breaker).
   */
  async deletePrefix(prefix: string): Promise<number> {
    const client = this.#deps.adminClient?.() ?? this.#deps.client;
    client.on('error', () => {});
    try {
      // A Cluster client knows its primaries only once it is ready.
      if (client instanceof Cluster && client.status !== 'ready') await ready(client, this.#deps.adminTimeoutMs ?? 2000);
      let removed = 0;
      const primaries: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
      const pattern = `${escapeGlob(prefix)}*`;
      for (const node of primaries) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
          cursor = next;
          if (keys.length > 0) removed += await (client instanceof Cluster ? unlinkEach(node, keys) : node.unlink(...keys));
        } while (cursor !== '0');
      }
      this.#stats.purged += removed;
      await client.publish(this.#deps.channel, prefix);
      return removed;
    } finally {
      if (client !== this.#deps.client) client.disconnect();
    }
  }

  stats(): RedisTierStats & { status: string; breaker: ReturnType<Breaker['snapshot']>; lastError: string } {
    return { ...this.#stats, status: this.#deps.client.status, breaker: this.#deps.breaker.snapshot(), lastError: this.#lastError };
  }

  /** Quits both connections (pending commands finish first). */
  async close(): Promise<void> {
    this.#deps.breaker.shutdown();
    this.#deps.clock?.stop();
    await Promise.all([this.#deps.client, this.#deps.subscriber].map((c) => c?.quit().catch(() => c.disconnect())));
  }

  #call<T>(command: () => Promise<T>): Promise<T> {
    return this.#deps.breaker.run(command).catch((err: unknown) => {
      if ((err as { code?: string })?.code === 'EOPENBREAKER') this.#stats.skipped++;
      else {
        this.#stats.errors++;
        // The breaker's call timeout (BreakerTimeoutError, ETIMEDOUT) is what bounds a command: ioredis's own
        // commandTimeout does not cover auto-pipelined commands.
        if ((err as { code?: string })?.code === 'ETIMEDOUT' || /timed? ?out/i.test((err as Error)?.message ?? '')) this.#stats.timeouts++;
        this.#lastError = (err as Error)?.message ?? String(err);
      }
      throw err;
    });
  }

  #decode(value: Buffer): TierEntry | undefined {
    // A value in another format (an older or newer gateway) is a miss, not an error.
    if (value.byteLength < HEADER_BYTES || value.readUInt8(0) !== FORMAT) return undefined;
    const ttlMs = readU64(value, 1) - this.#now();
    if (ttlMs <= 0) return undefined;
    return { bytes: value.subarray(HEADER_BYTES), ttlMs };
  }

  #noteError(err: Error, logger: Logger): void {
    // Log once per distinct error, not once per reconnection attempt.
    if (err.message === this.#lastError) return;
    this.#lastError = err.message;
    logger.warn({ err }, 'redis cache tier failed; serving without it, reconnecting');
  }
}

function ready(cluster: Cluster, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Redis Cluster was not ready within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    cluster.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** One UNLINK per key in a pipeline: a Cluster refuses multi-key commands across hash slots. Any failed key fails the step. */
async function unlinkEach(node: Redis, keys: readonly string[]): Promise<number> {
  let removed = 0;
  for (const [err, count] of (await node.pipeline(keys.map((k) => ['unlink', k])).exec()) ?? []) {
    if (err) throw err;
    removed += Number(count);
  }
  return removed;
}

/** SCAN MATCH is a glob: a model named `a*` must match only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

// Two u32 halves: cheaper than BigInt, and epoch milliseconds stay far below 2^53.
function writeU64(buffer: Buffer, n: number, offset: number): void {
  buffer.writeUInt32LE(n >>> 0, offset);
  buffer.writeUInt32LE(Math.floor(n / 2 ** 32), offset + 4);
}

function readU64(buffer: Buffer, offset: number): number {
  return buffer.readUInt32LE(offset) + buffer.readUInt32LE(offset + 4) * 2 ** 32;
}
