// One attempt to send a client's request to a replica of an external model
// server, through http-proxy: the request's bytes as they came (read once,
// so that a failed attempt can be sent again to another replica), the
// answer's as they come (streamed to the client, never decoded).
//
//   connection refused, reset, no answer in time  → UpstreamFailure: retried elsewhere, counts against the replica
//   5xx                                           → UpstreamFailure 'replica': the same (its body is dropped)
//   anything else (2xx, 3xx, 4xx)                 → the answer, handed to the client as it is

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { InfergateError } from '../../common/errors.ts';
import { classifyThrown, UpstreamFailure } from './failure.ts';

export type ProxiedRequest = {
  req: IncomingMessage;
  res: ServerResponse;
  /** The request body, read in full. */
  body: Uint8Array;
};

/** Headers the gateway sets itself on the way up (hop-by-hop ones http-proxy drops by itself). */
const DROPPED_REQUEST_HEADERS = ['content-encoding'];

/** Sends the request to `url` (the replica's base URL with the upstream path); resolves with the upstream's answer. */
export function proxyAttempt(request: ProxiedRequest, url: string, timeoutMs: number, replicaId: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // One proxy per attempt: its events belong to this attempt alone.
    const proxy = httpProxy.createProxyServer({ selfHandleResponse: true, ignorePath: true, changeOrigin: true, xfwd: true, proxyTimeout: timeoutMs, timeout: timeoutMs });
    proxy.on('proxyReq', (proxyReq) => {
      for (const name of DROPPED_REQUEST_HEADERS) proxyReq.removeHeader(name);
      proxyReq.setHeader('content-length', request.body.byteLength);
    });
    proxy.once('proxyRes', (proxyRes) => {
      if ((proxyRes.statusCode ?? 502) < 500) return resolve(proxyRes);
      proxyRes.resume();
      reject(new UpstreamFailure('replica', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `replica ${replicaId} answered ${proxyRes.statusCode}`)));
    });
    // A refused or reset connection, or the attempt's timeout (http-proxy ends the socket): retryable elsewhere.
    proxy.web(request.req, request.res, { target: url, buffer: Readable.from([request.body]) }, (err) => reject(classifyThrown(err, replicaId)));
  });
}
