// The gateway's multiplexed infer channel to one worker (framing in
// common/mux.ts): one persistent connection (a unix socket to a local
// worker; TCP, with TLS when configured, to a remote one, whose first message
// is a hello carrying the shared worker token), requests tagged by id,
// answers matched back by id in any order, writes of one event-loop turn
// coalesced into one socket write. It has exactly the contract of
// WorkerClient.infer: it resolves with the response frame or throws an
// UpstreamFailure classified as in failure.ts:
//
//   socket error / close with the request pending   → transport (every pending one)
//   no answer by the request's deadline            → timeout (a late answer is dropped)
//   response-error with status ≥ 500               → replica
//   response-error with status < 500               → request
//
// The connection is opened on the first request and again on the first request
// after it closed (lazily: a dead worker costs nothing until it is used).

import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { InfergateError } from '../../common/errors.ts';
import { decodeMuxError, MUX_KIND, MuxDecoder, type MuxMessage } from '../../common/mux.ts';
import { MuxWriter } from '../../common/mux-writer.ts';
import { SlotMap } from '../../common/slot-map.ts';
import type { FrameBytes } from '../../common/wire.ts';
import { classifyAnswer, classifyThrown, UpstreamFailure } from './failure.ts';

/** Where a worker's mux channel listens, and how to reach it over the network. */
export type MuxTarget = { socketPath: string } | { host: string; port: number; tls?: { ca?: Buffer } };

export type MuxClientOptions = {
  id: string;
  target: MuxTarget;
  /** The shared worker token, sent in a hello before the first request of each connection. */
  token?: string;
  /** Largest accepted response frame; a bigger one is a protocol error that drops the connection. */
  maxBodyBytes?: number;
};

type Pending = { resolve: (frame: Uint8Array) => void; reject: (err: UpstreamFailure) => void; deadlineMs: number };

/**
 * One timer per connection, not one per request: it is armed for the earliest deadline pending and, when it
 * fires, fails what is due and re-arms for the next. Requests mostly share one attempt timeout, so their
 * deadlines arrive in order and the timer is rarely re-armed; a request answered in time costs no timer work.
 */
/** `pending` is a SlotMap, not a Map: a Map's stale tables would keep every answered request alive into the old generation (common/slot-map.ts). */
type Connection = { socket: Socket; writer: MuxWriter; pending: SlotMap<number, Pending>; sweep: NodeJS.Timeout | null; sweepAtMs: number };

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024 * 1024;
const MAX_ID = 0xffff_ffff;

export class MuxClient {
  readonly id: string;
  readonly target: MuxTarget;
  readonly #token: string | undefined;
  readonly #maxBodyBytes: number;
  #connection: Connection | null = null;
  #nextId = 0;
  #state: 'open' | 'closing' | 'destroyed' = 'open';
  #closed: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;

  constructor(options: MuxClientOptions) {
    this.id = options.id;
    this.target = options.target;
    this.#token = options.token;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /** Requests sent and not yet settled. */
  get pending(): number {
    return this.#connection?.pending.size ?? 0;
  }

  /** Sends one binary infer frame; resolves with the response frame. Throws UpstreamFailure. */
  infer(frame: FrameBytes, timeoutMs: number): Promise<Uint8Array> {
    if (this.#state !== 'open') {
      return Promise.reject(this.#transport(`the client is ${this.#state === 'closing' ? 'closed' : 'destroyed'}`));
    }
    const connection = (this.#connection ??= this.#connect());
    const id = this.#nextId;
    this.#nextId = this.#nextId === MAX_ID ? 0 : this.#nextId + 1;
    const deadlineMs = performance.now() + Math.min(2 ** 31 - 1, Math.max(1, Math.ceil(timeoutMs)));
    if (connection.sweep === null || deadlineMs < connection.sweepAtMs) this.#armSweep(connection, deadlineMs);
    return new Promise<Uint8Array>((resolve, reject) => {
      connection.pending.set(id, { resolve, reject, deadlineMs });
      connection.writer.write(id, MUX_KIND.request, frame);
    });
  }

  #armSweep(connection: Connection, atMs: number): void {
    if (connection.sweep) clearTimeout(connection.sweep);
    connection.sweepAtMs = atMs;
    connection.sweep = setTimeout(() => this.#sweep(connection), Math.max(1, Math.ceil(atMs - performance.now())));
    connection.sweep.unref();
  }

  /** Fails every request whose deadline has come (the answer may still come; #settle drops it since the id is gone). */
  #sweep(connection: Connection): void {
    connection.sweep = null;
    // Timers fire on a millisecond clock: within a millisecond of its deadline a request is due.
    const dueMs = performance.now() + 1;
    let nextMs = Infinity;
    for (const [id, pending] of connection.pending.entries()) {
      if (pending.deadlineMs > dueMs) {
        nextMs = Math.min(nextMs, pending.deadlineMs);
        continue;
      }
      connection.pending.delete(id);
      pending.reject(classifyThrown(Object.assign(new Error('deadline'), { name: 'TimeoutError' }), this.id));
    }
    if (nextMs !== Infinity) this.#armSweep(connection, nextMs);
    this.#checkIdle(connection);
  }

  /** Lets pending requests finish, then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#state === 'open') this.#state = 'closing';
      const connection = this.#connection;
      if (!connection || connection.socket.destroyed) return resolve();
      connection.socket.once('close', () => resolve());
      this.#onIdle = () => connection.socket.end();
      this.#checkIdle(connection);
    });
    return this.#closed;
  }

  /** Aborts the connection now; pending requests fail with origin 'transport'. Idempotent. */
  async destroy(): Promise<void> {
    this.#state = 'destroyed';
    const connection = this.#connection;
    if (connection) this.#fail(connection, new Error('the client was destroyed'));
    await this.close();
  }

  #connect(): Connection {
    const target = this.target;
    const socket =
      'socketPath' in target
        ? connect(target.socketPath)
        : target.tls
          ? connectTls({ host: target.host, port: target.port, ...(target.tls.ca ? { ca: target.tls.ca } : {}), minVersion: 'TLSv1.2' })
          : connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const connection: Connection = { socket, writer: new MuxWriter(socket), pending: new SlotMap(), sweep: null, sweepAtMs: 0 };
    // Written before any request, in the same first write.
    if (this.#token !== undefined) connection.writer.write(0, MUX_KIND.hello, Buffer.from(this.#token, 'utf8'));
    const decoder = new MuxDecoder({ maxBodyBytes: this.#maxBodyBytes });
    socket.on('data', (chunk: Buffer) => {
      let messages: MuxMessage[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        this.#fail(connection, err);
        return;
      }
      for (const m of messages) this.#settle(connection, m);
    });
    socket.on('error', (err) => this.#fail(connection, err));
    socket.on('close', () => this.#fail(connection, Object.assign(new Error('the worker closed the connection'), { code: 'UND_ERR_SOCKET' })));
    return connection;
  }

  #settle(connection: Connection, message: MuxMessage): void {
    const pending = connection.pending.get(message.id);
    if (!pending) return; // timed out already: the late answer is dropped
    connection.pending.delete(message.id);
    if (message.kind === MUX_KIND.responseOk) pending.resolve(message.body);
    else if (message.kind === MUX_KIND.responseError) {
      const { status, body } = decodeMuxError(message.body);
      pending.reject(classifyAnswer(status, body));
    } else {
      pending.reject(new UpstreamFailure('replica', new InfergateError('GW_ERR_INTERNAL', `replica ${this.id} sent a message of kind ${message.kind}`)));
    }
    this.#checkIdle(connection);
  }

  /** The connection is unusable: every pending request fails as 'transport'; the next request reconnects. */
  #fail(connection: Connection, err: unknown): void {
    if (this.#connection === connection) this.#connection = null;
    connection.writer.discard();
    connection.socket.destroy();
    if (connection.sweep) clearTimeout(connection.sweep);
    connection.sweep = null;
    const pending = connection.pending.values();
    connection.pending.clear();
    for (const p of pending) p.reject(classifyThrown(err, this.id));
  }

  #checkIdle(connection: Connection): void {
    if (connection.pending.size === 0 && this.#onIdle) {
      connection.writer.flush();
      this.#onIdle();
    }
  }

  #transport(detail: string): UpstreamFailure {
    return new UpstreamFailure('transport', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `replica ${this.id}: ${detail}`));
  }
}
