// The gateway config's `server` section: its HTTP and gRPC listeners, what
// they accept and how they drain, its processes, and admin access.

import { z } from 'zod';
import { nonNegativeInt, positiveInt } from './fields.ts';

export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    /** Largest request body accepted; larger ones get 413 before being read in full. */
    maxBodyBytes: positiveInt().default(64 * 1024 * 1024),
    /** Deadline of a request that names none: covers waiting for a replica, retries and the run. */
    requestTimeoutMs: positiveInt().default(30_000),
    /** On SIGTERM, how long accepted requests may take to finish before the process exits anyway. */
    shutdownGraceMs: positiveInt().default(30_000),
    /** Requests being handled at once at most; beyond: 503 with Retry-After at once (memory stays bounded under any overload). */
    maxInFlightRequests: positiveInt().default(8192),
    /**
     * GET /v2/health/ready as Triton's --strict-readiness: true, ready only when every version of every model
     * is READY; false, ready once every version is READY or UNAVAILABLE (a broken model does not take the whole
     * gateway out of a load balancer's rotation; its own ready route still says 400).
     */
    strictReadiness: z.boolean().default(true),
    /** Bearer token for the admin routes (/admin/*); unset: they answer loopback clients only. */
    adminToken: z.string().min(16, 'adminToken must be at least 16 characters').optional(),
    /**
     * Gateway processes serving the one port (SO_REUSEPORT): the first runs the local workers and the model
     * control, the others are fronts that serve traffic on its workers; `auto`: one per core.
     */
    processes: z.union([positiveInt().max(256), z.literal('auto')]).default(1),
    /**
     * With Redis configured: a scale, a rollout started or aborted, and a model loaded or unloaded here are
     * taken by every gateway on the same Redis and cache.keyPrefix, each on the workers it runs.
     */
    shareAdminActions: z.boolean().default(true),
    /** KServe v2 gRPC (inference.GRPCInferenceService) on this port, beside HTTP; 0: no gRPC listener. */
    grpcPort: z.number().int().min(0).max(65535).default(8001),
    /** Largest gRPC message received or sent (a request's or an answer's tensors with their framing). */
    grpcMaxMessageBytes: positiveInt().default(64 * 1024 * 1024),
    /** How often the server pings an idle gRPC connection, and how long it waits for the answer before closing it. */
    grpcKeepaliveTimeMs: positiveInt().default(7_200_000),
    grpcKeepaliveTimeoutMs: positiveInt().default(20_000),
    /** Answers of at least minBytes go gzip- or deflate-compressed to clients that send Accept-Encoding for it. */
    compression: z
      .object({
        enabled: z.boolean().default(true),
        minBytes: nonNegativeInt().default(1024),
      })
      .strict()
      .prefault({}),
    /** Cross-origin requests from browser pages: off, they get no CORS headers and OPTIONS is 405. */
    cors: z
      .object({
        enabled: z.boolean().default(false),
        /** Origins allowed, as a browser sends them ("https://app.example.com", no path); "*": every origin, on the data plane only. */
        origins: z.array(z.string().regex(/^(\*|[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+)$/, 'an origin is "*" or scheme://host[:port], without a path or a trailing slash')).default([]),
        /** How long a browser may reuse a preflight's answer. */
        maxAgeSeconds: nonNegativeInt().default(600),
      })
      .strict()
      .prefault({}),
    /** Also serve HTTP/2 by prior knowledge (h2c, no TLS) on the HTTP port, beside HTTP/1.1. */
    h2c: z.boolean().default(false),
    /** A connection whose request headers have not all arrived this long after it opened (or its last answer) is closed: slowloris. */
    headersTimeoutMs: positiveInt().default(10_000),
    /**
     * A whole request (headers and body) must arrive within this, or Node answers 408 and closes the connection
     * (Node's requestTimeout). Longer than requestTimeoutMs, so that the inference deadline's own 408 comes first.
     */
    requestReceiveTimeoutMs: positiveInt().default(60_000),
    /** Idle kept-alive connections close after this (longer than the usual 60 s of a load balancer in front, so that it closes first). */
    keepAliveTimeoutMs: positiveInt().default(65_000),
    /** Largest request header block (request line and headers); larger: a bare 431 from Node's parser. */
    maxHeaderBytes: positiveInt().default(16 * 1024),
    /** Header fields a request may have; more: 431 GW_ERR_HEADERS_TOO_LARGE. */
    maxHeadersCount: positiveInt().default(100),
    /** TCP connections open at once from one client address; one over it is closed at once. */
    maxConnectionsPerAddress: positiveInt().default(512),
    /** TCP connections open at once on the HTTP port (per gateway process); one over it is closed at once. */
    maxConnections: positiveInt().default(10_000),
    /** Send `x-infergate-cache: hit|miss` on inference answers; false for untrusted clients (a hit tells that someone sent the same input). */
    cacheHeader: z.boolean().default(true),
    /**
     * HTTPS on the HTTP port and TLS on the gRPC port; absent: both in cleartext. The files are read at start and
     * again whenever they change (or on SIGHUP): new handshakes get the new certificate, open connections keep theirs.
     */
    tls: z
      .object({
        /** PEM certificate chain (the server's first); relative paths resolve against the config file. */
        certFile: z.string().min(1),
        /** PEM private key of the certificate. */
        keyFile: z.string().min(1),
        /** Oldest TLS version a client may use. */
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        /** Also offer HTTP/2 by ALPN ("h2") beside HTTP/1.1 on the HTTP port. */
        http2: z.boolean().default(false),
        /** How often the two files are checked for a change (size, mtime, then their bytes). */
        reloadCheckMs: positiveInt().default(1000),
      })
      .strict()
      .optional(),
  })
  .strict()
  // Node refuses a header timeout longer than the whole request's.
  .refine((server) => server.headersTimeoutMs <= server.requestReceiveTimeoutMs, { message: 'headersTimeoutMs must be at most requestReceiveTimeoutMs', path: ['headersTimeoutMs'] })
  // h2c is HTTP/2 in cleartext; with TLS, HTTP/2 comes by ALPN (tls.http2).
  .refine((server) => !(server.h2c && server.tls), { message: 'h2c is cleartext HTTP/2 and cannot be on with tls: use tls.http2 instead', path: ['h2c'] })
  .prefault({});
