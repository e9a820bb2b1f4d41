// The HTTP front's listening server, set up from its options: Node's
// connection timeouts (a slowloris connection closes near its header
// timeout), header limits, the connection limits in front of every
// connection listener, h2c when asked, and TLS (server.tls) when given its
// certificate: an https.Server, which is an http.Server after the handshake,
// so that every other option works on it as on cleartext; with tls.http2,
// ALPN's "h2" connections go to an HTTP/2 server (h2c.ts) instead. server.ts
// owns the requests.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import { ConnectionLimits, type ConnectionLimitsConfig, type Refusal } from './connection-limits.ts';
import { H2cAcceptor } from './h2c.ts';

export type ConnectionTimeouts = { headersTimeoutMs: number; requestReceiveTimeoutMs: number; keepAliveTimeoutMs: number };

export type FrontServerOptions = {
  /** Also serve HTTP/2 by prior knowledge (h2c) on the same port (server.h2c). */
  h2c?: boolean;
  /** How long a connection may take to send its headers, its whole request, and stay idle between requests; default: Node's, and 65 s idle. */
  timeouts?: ConnectionTimeouts;
  /** Largest request header block (Node's maxHeaderSize; larger: a bare 431 from Node); default: Node's 16 KiB. */
  maxHeaderBytes?: number;
  /** Header fields a request may have (more: 431 GW_ERR_HEADERS_TOO_LARGE); default: Node's 2000, silently dropping more. */
  maxHeadersCount?: number;
  /** TCP connections open at once per client address and in total; one over either is closed at once. Default: unbounded. */
  connectionLimits?: ConnectionLimitsConfig;
  /** HTTPS with this certificate and key (and minVersion); `http2`: HTTP/2 offered by ALPN beside HTTP/1.1. Default: cleartext. */
  tls?: FrontTlsOptions;
};

export type FrontTlsOptions = SecureContextOptions & { http2: boolean };

/** The header limits an HTTP/2 acceptor applies too (HTTP/1.1's are the server's own options). */
function headerLimitsOf(options: FrontServerOptions): { maxHeaderBytes?: number; maxHeadersCount?: number } {
  return { ...(options.maxHeaderBytes !== undefined ? { maxHeaderBytes: options.maxHeaderBytes } : {}), ...(options.maxHeadersCount !== undefined ? { maxHeadersCount: options.maxHeadersCount } : {}) };
}

/** Connections closed at once for being over a limit, by which: server.maxConnectionsPerAddress or server.maxConnections. */
export type RefusedConnections = Record<Refusal, number>;
const NONE_REFUSED: RefusedConnections = Object.freeze({ per_address: 0, total: 0 });

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Idle kept-alive connections close after this (longer than the usual 60 s of a load balancer in front, so that it closes first). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * How often Node looks for connections past their header or request timeout, at most (its default, 30 s, would
 * keep a slowloris connection open up to 30 s past the limit). A scan of the open connections each second is cheap.
 */
const MAX_CONNECTIONS_CHECK_INTERVAL_MS = 1000;
/**
 * The server, its HTTP/2 acceptor when on (h2c, or ALPN's h2 with TLS), how many connections the limits refused so
 * far, and with TLS the same server as a tls.Server (whose certificate a reload replaces).
 */
export function createFrontServer(
  options: FrontServerOptions,
  onRequest: Listener,
  onCheckContinue: Listener,
): { server: Server; h2c: H2cAcceptor | undefined; refused: () => RefusedConnections; secure: TlsServer | undefined } {
  const timeouts = options.timeouts;
  const keepAliveTimeoutMs = timeouts?.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS;
  const { tls } = options;
  const secure = tls ? secureServerOptions(tls, timeouts) : undefined;
  // An https.Server is an http.Server once the handshake is done: the same options, events and methods.
  const create = (httpOptions: Parameters<typeof createServer>[0], listener: Listener): Server => (secure ? createHttpsServer({ ...secure, ...httpOptions }, listener) : createServer(httpOptions, listener));
  const server = create(
    {
      keepAliveTimeout: keepAliveTimeoutMs,
      ...(timeouts
        ? {
            headersTimeout: timeouts.headersTimeoutMs,
            requestTimeout: timeouts.requestReceiveTimeoutMs,
            // Checked at least twice per header timeout: a slow connection closes close to its limit.
            connectionsCheckingInterval: Math.max(1, Math.min(MAX_CONNECTIONS_CHECK_INTERVAL_MS, Math.floor(timeouts.headersTimeoutMs / 2))),
          }
        : {}),
      ...(options.maxHeaderBytes !== undefined ? { maxHeaderSize: options.maxHeaderBytes } : {}),
    },
    onRequest,
  );
  // Node drops the header fields beyond maxHeadersCount without a word: it keeps one more than the limit, so
  // that the front sees a request over it and refuses it, and no request ever holds more than that in memory.
  if (options.maxHeadersCount !== undefined) server.maxHeadersCount = options.maxHeadersCount + 1;
  // With a listener, Node no longer sends `100 Continue` by itself: the front sends it once the request may go on.
  server.on('checkContinue', onCheckContinue);
  const http2 = tls ? tls.http2 : options.h2c;
  const h2c = http2 ? new H2cAcceptor(server, { onRequest, onCheckContinue, idleTimeoutMs: keepAliveTimeoutMs, prefaceTimeoutMs: server.headersTimeout, by: tls ? 'alpn' : 'preface', ...headerLimitsOf(options) }) : undefined;
  // Last, so that it sees every connection before the HTTP/1.1 server (or the h2c sniffer, or the TLS handshake) takes it.
  const refused = options.connectionLimits ? limitConnections(server, new ConnectionLimits(options.connectionLimits)) : () => NONE_REFUSED;
  return { server, h2c, refused, secure: secure ? (server as unknown as TlsServer) : undefined };
}

/**
 * The TLS server's own options: the certificate, ALPN's protocols (h2 first when offered: a client that speaks both
 * gets HTTP/2), and a handshake that must end within the header timeout (a slowloris that never finishes its
 * handshake holds no connection for Node's default 120 s).
 */
function secureServerOptions(tls: FrontTlsOptions, timeouts: ConnectionTimeouts | undefined): SecureContextOptions & { ALPNProtocols: string[]; handshakeTimeout?: number } {
  const { http2, ...secure } = tls;
  return { ...secure, ALPNProtocols: http2 ? ['h2', 'http/1.1'] : ['http/1.1'], ...(timeouts ? { handshakeTimeout: timeouts.headersTimeoutMs } : {}) };
}

/**
 * Puts `limits` in front of the server's connection listeners: a connection over a limit is destroyed before any
 * of them sees it (no parser, no timers; with TLS, no handshake: a tls.Server's 'connection' listener is the one
 * that starts it). Only TCP connections have an address to count.
 */
function limitConnections(server: Server, limits: ConnectionLimits): () => RefusedConnections {
  const refused: RefusedConnections = { per_address: 0, total: 0 };
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  for (const listener of listeners) server.off('connection', listener);
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address !== undefined) {
      const refusal = limits.open(address);
      if (refusal !== undefined) {
        refused[refusal]++;
        socket.destroy();
        return;
      }
      socket.once('close', () => limits.close(address));
    }
    for (const listener of listeners) listener.call(server, socket);
  });
  return () => refused;
}
