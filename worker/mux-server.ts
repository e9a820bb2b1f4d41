// The worker's multiplexed infer channel (framing in common/mux.ts): a second
// listener next to the HTTP one (unix X.sock → X.sock.mux, or the TCP port of
// --mux-listen). Each connection carries many requests at once; each runs
// through the same path as POST /infer (WorkerServer.runFrame) and its answer
// is written, tagged with the request's id, as soon as it is ready, so answers
// may leave in any order. Errors become response-error messages with the
// catalogued status.
//
// Shutdown: close() drains (stop accepting; requests that arrive on open
// connections are answered GW_ERR_SHUTTING_DOWN; in-flight ones finish; then
// every connection is ended) and destroy() aborts every connection. Both are
// idempotent.

import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { asInfergateError, InfergateError } from '../common/errors.ts';
import { httpStatusOf } from '../common/http-status.ts';
import { encodeMuxError, MUX_KIND, MuxDecoder, type MuxMessage } from '../common/mux.ts';
import { MuxWriter } from '../common/mux-writer.ts';
import type { ListenAddress } from '../common/listen-address.ts';
import type { Logger } from '../common/logger.ts';
import { listenOn } from './listen.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../common/worker-options.ts';
import { tokenMatches } from '../common/worker-token.ts';

export type MuxServerOptions = {
  /** Request frame (and when it arrived, for its deadline) → response frame; throws InfergateError (WorkerServer.runFrame). */
  runFrame: (body: Uint8Array, receivedAtMs: number) => Promise<Uint8Array>;
  /** Largest accepted request frame; a bigger one is a protocol error that drops the connection. */
  maxBodyBytes?: number;
  /** Where unexpected (GW_ERR_INTERNAL) errors and protocol errors are logged; default: nowhere. */
  logger?: Logger;
  /** When set, a connection's first message must be a hello carrying this token; anything else is refused and the connection closed. */
  token?: string;
  /** Serve TLS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
};

export class MuxServer {
  readonly server: Server;
  readonly #runFrame: (body: Uint8Array, receivedAtMs: number) => Promise<Uint8Array>;
  readonly #maxBodyBytes: number;
  readonly #logger: Logger | undefined;
  readonly #token: string | undefined;
  readonly #connections = new Map<Socket, MuxWriter>();
  #inFlight = 0;
  #closing: Promise<void> | null = null;

  constructor(options: MuxServerOptions) {
    this.#runFrame = options.runFrame;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#logger = options.logger;
    this.#token = options.token;
    // A TLS server hands over each connection once its handshake is done.
    this.server = options.tls ? createTlsServer({ ...options.tls, minVersion: 'TLSv1.2' }, (socket) => this.#accept(socket)) : createServer((socket) => this.#accept(socket));
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Binds the address (a stale unix socket file is removed first); resolves with the bound address. */
  listen(address: ListenAddress): Promise<ListenAddress> {
    return listenOn(this.server, address);
  }

  /** Drains: resolves once in-flight requests are answered and every connection is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        this.#endAll();
        resolve();
        return;
      }
      // The callback runs once the listener is closed and the last connection is gone.
      this.server.close(() => resolve());
      if (this.#inFlight === 0) this.#endAll();
    });
    return this.#closing;
  }

  /** Aborts every connection now (in-flight requests are lost). Idempotent. */
  destroy(): void {
    void this.close();
    for (const [socket, writer] of this.#connections) {
      writer.discard();
      socket.destroy();
    }
  }

  #accept(socket: Socket): void {
    if (this.#closing) return void socket.destroy();
    socket.setNoDelay(true);
    const writer = new MuxWriter(socket);
    const decoder = new MuxDecoder({ maxBodyBytes: this.#maxBodyBytes, alignRequestFrames: true });
    this.#connections.set(socket, writer);
    let authorized = this.#token === undefined;
    socket.on('data', (chunk: Buffer) => {
      const receivedAtMs = performance.now();
      let messages: MuxMessage[];
      try {
        messages = decoder.push(chunk);
        if (!authorized) messages = this.#hello(messages, writer, socket, () => (authorized = true));
        // A hello where none is asked for (or a second one) changes nothing.
        for (const m of messages) if (m.kind !== MUX_KIND.request && m.kind !== MUX_KIND.hello) throw new Error(`kind ${m.kind} is not a request`);
      } catch (err) {
        this.#logger?.warn({ reason: (err as Error).message }, 'mux: dropping a connection that broke the protocol');
        writer.discard();
        socket.destroy();
        return;
      }
      for (const m of messages) if (m.kind === MUX_KIND.request) this.#handle(writer, m, receivedAtMs);
    });
    // An error is followed by 'close'; there is nobody to answer.
    socket.on('error', () => {});
    socket.on('close', () => {
      writer.discard();
      this.#connections.delete(socket);
    });
  }

  /**
   * Before the token: the first message must be a hello that carries it. Returns the messages after a good hello;
   * otherwise answers the first request GW_ERR_WORKER_TOKEN, closes the connection and returns none.
   */
  #hello(messages: MuxMessage[], writer: MuxWriter, socket: Socket, authorize: () => void): MuxMessage[] {
    const [first, ...rest] = messages;
    if (!first) return messages;
    if (first.kind === MUX_KIND.hello && tokenMatches(this.#token!, Buffer.from(first.body).toString('utf8'))) {
      authorize();
      return rest;
    }
    const error = new InfergateError('GW_ERR_WORKER_TOKEN', first.kind === MUX_KIND.hello ? 'wrong token' : 'no hello with the token before the first request');
    this.#logger?.warn({ remote: socket.remoteAddress }, 'mux: refused a connection without the worker token');
    writer.write(first.id, MUX_KIND.responseError, encodeMuxError(httpStatusOf(error), error.toWire()));
    writer.flush();
    socket.end();
    socket.pause();
    return [];
  }

  #handle(writer: MuxWriter, message: MuxMessage, receivedAtMs: number): void {
    if (this.#closing) {
      const error = new InfergateError('GW_ERR_SHUTTING_DOWN', 'the worker is draining');
      writer.write(message.id, MUX_KIND.responseError, encodeMuxError(httpStatusOf(error), error.toWire()));
      return;
    }
    this.#inFlight++;
    this.#runFrame(message.body, receivedAtMs).then(
      (frame) => writer.write(message.id, MUX_KIND.responseOk, frame),
      (err: unknown) => {
        const error = asInfergateError(err);
        if (error.code === 'GW_ERR_INTERNAL') this.#logger?.error({ err }, 'mux: internal error');
        writer.write(message.id, MUX_KIND.responseError, encodeMuxError(httpStatusOf(error), error.toWire()));
      },
    ).finally(() => {
      if (--this.#inFlight === 0 && this.#closing) this.#endAll();
    });
  }

  /** Flushes each connection's queued answers, then ends it. */
  #endAll(): void {
    for (const [socket, writer] of this.#connections) {
      writer.flush();
      socket.end();
    }
  }
}
