// h2c: HTTP/2 over cleartext TCP, by prior knowledge (RFC 9113 §3.3), on the
// same port as HTTP/1.1 (server.h2c). Node's http2 server cannot take
// HTTP/1.1 without TLS (its allowHTTP1 needs ALPN), so each new connection's
// first bytes choose:
//
//   "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (the client preface) ──▶ http2 server (compatibility API)
//   anything else ─────────────────────────────────────────────▶ the http server, as if untouched
//
// Both call the same request listener: the compatibility API's req/res
// stand in for IncomingMessage/ServerResponse (server.ts never sets the
// connection-level headers HTTP/2 forbids). The HTTP/1.1 upgrade
// (`Upgrade: h2c`) is not offered: RFC 9113 deprecated it, and Node does not
// implement it.
//
// With TLS (server.tls.http2) the handshake has chosen already: a socket
// whose ALPN protocol is "h2" goes, decrypted, to the same http2 server; any
// other to the https server's HTTP/1.1 listener.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Streams one HTTP/2 connection may run at once; the front's in-flight cap still sheds beyond its own limit. */
const MAX_CONCURRENT_STREAMS = 256;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export type H2cOptions = {
  onRequest: Listener;
  /** Expect: 100-continue requests (the listener sends the 100, or refuses without it). */
  onCheckContinue: Listener;
  /** An HTTP/2 connection with no stream for this long is closed (as HTTP/1.1's keepAliveTimeout). */
  idleTimeoutMs: number;
  /** A connection that sends no first bytes within this is dropped (as HTTP/1.1's headersTimeout). */
  prefaceTimeoutMs: number;
  /** How HTTP/2 is told apart: its client preface on a cleartext connection (h2c), or ALPN on a TLS one (an https server). Default: preface. */
  by?: 'preface' | 'alpn';
  /** The largest header block a stream may send (server.maxHeaderBytes); larger: the stream is reset. Default: Node's. */
  maxHeaderBytes?: number;
  /** Header fields a stream may send (server.maxHeadersCount): one more reaches the front, which answers 431; more than that, the stream is reset. */
  maxHeadersCount?: number;
};

/** HTTP/2's pseudo-headers (:method, :path, :scheme, :authority) count as fields in nghttp2's list. */
const PSEUDO_HEADERS = 4;

export class H2cAcceptor {
  readonly #h2: Http2Server;
  readonly #sessions = new Set<Http2Session>();
  /** Connections whose first bytes have not come yet. */
  readonly #undecided = new Set<Socket>();

  /** Takes over `server`'s new connections; its HTTP/1.1 connections are served by its own listener as before. */
  constructor(server: Server, options: H2cOptions) {
    this.#h2 = createHttp2Server({
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, ...(options.maxHeaderBytes !== undefined ? { maxHeaderListSize: options.maxHeaderBytes } : {}) },
      ...(options.maxHeadersCount !== undefined ? { maxHeaderListPairs: options.maxHeadersCount + 1 + PSEUDO_HEADERS } : {}),
    });
    // The compatibility API's request and response are duck-typed stand-ins for Node's HTTP/1 ones.
    const asHttp1 = (listener: Listener) => (req: Http2ServerRequest, res: Http2ServerResponse) => listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    this.#h2.on('request', asHttp1(options.onRequest));
    this.#h2.on('checkContinue', asHttp1(options.onCheckContinue));
    this.#h2.setTimeout(options.idleTimeoutMs);
    // A broken session is destroyed by Node; listening keeps its error from being thrown.
    this.#h2.on('sessionError', () => {});
    this.#h2.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
    });
    if (options.by === 'alpn') {
      // An https server hands its HTTP/1.1 listener each socket once its handshake is done ('secureConnection').
      const http1 = server.listeners('secureConnection') as Array<(socket: TLSSocket) => void>;
      for (const listener of http1) server.off('secureConnection', listener);
      server.on('secureConnection', (socket: TLSSocket) => (socket.alpnProtocol === 'h2' ? this.#h2.emit('connection', socket) : http1.forEach((l) => l.call(server, socket))));
      return;
    }
    // Emitting 'connection' with a socket is how a server is handed one; http.Server serves a socket through
    // its own 'connection' listener, which runs below for every connection that is not HTTP/2.
    const http1 = server.listeners('connection') as Array<(socket: Socket) => void>;
    for (const listener of http1) server.off('connection', listener);
    server.on('connection', (socket: Socket) => this.#sniff(socket, (chosen) => (chosen === 'h2' ? this.#h2.emit('connection', socket) : http1.forEach((l) => l.call(server, socket))), options.prefaceTimeoutMs));
  }

  /** Sends GOAWAY to every HTTP/2 connection: its running streams finish, no new one starts. Idempotent. */
  close(): void {
    for (const session of this.#sessions) session.close();
    // Idle as far as anyone knows, as the idle HTTP/1.1 connections the server closes on drain.
    for (const socket of this.#undecided) socket.destroy();
  }

  /** Ends every HTTP/2 connection now. */
  destroy(): void {
    for (const session of this.#sessions) session.destroy();
  }

  #sniff(socket: Socket, hand: (chosen: 'h2' | 'http1') => void, prefaceTimeoutMs: number): void {
    let head: Buffer = Buffer.alloc(0);
    const onError = (): void => void socket.destroy();
    const onTimeout = (): void => void socket.destroy();
    this.#undecided.add(socket);
    socket.once('close', () => this.#undecided.delete(socket));
    const onData = (chunk: Buffer): void => {
      head = head.byteLength === 0 ? chunk : Buffer.concat([head, chunk]);
      const seen = Math.min(head.byteLength, PREFACE.byteLength);
      const h2 = head.subarray(0, seen).equals(PREFACE.subarray(0, seen));
      if (h2 && seen < PREFACE.byteLength) return; // a prefix of the preface: wait for more
      this.#undecided.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('timeout', onTimeout);
      socket.setTimeout(0);
      // Put the bytes back and let the chosen server read them as the connection's first. The http2 session
      // takes what is buffered itself; the http server reads it once the socket flows again.
      socket.pause();
      socket.unshift(head);
      hand(h2 ? 'h2' : 'http1');
      if (!h2) socket.resume();
    };
    socket.setTimeout(prefaceTimeoutMs);
    socket.on('timeout', onTimeout);
    socket.on('error', onError);
    socket.on('data', onData);
  }
}
