// CORS (the Fetch standard's cross-origin rules), off by default: which
// browser pages may call the gateway, and the answers to their preflights.
// Pure: server.ts asks and sends.
//
//   OPTIONS + Origin + Access-Control-Request-Method   a preflight: 204 with the path's methods, the
//                                                      headers the gateway reads and a max age; 403
//                                                      GW_ERR_CORS_ORIGIN for an origin not allowed
//   OPTIONS without them                                204 with Allow
//   any other request with an allowed Origin            its answer (errors too) gets Access-Control-Allow-Origin
//
// `*` in the origins covers the data plane only. The admin routes trust any
// loopback caller when no server.adminToken is set, and a browser on the
// operator's machine is one: with `*`, any page it opens could scale or purge.
// An origin listed by name reaches them (still behind the token or loopback).

import { clientText, InfergateError } from '../../common/errors.ts';
import type { Reply } from './reply.ts';
import { isAdminRoute, matchPath } from './routes.ts';

export type CorsConfig = {
  enabled: boolean;
  /** Origins allowed ("https://app.example.com"), or "*" for every origin (data plane only). */
  origins: readonly string[];
  /** How long a browser may keep a preflight's answer. */
  maxAgeSeconds: number;
};

/** Request headers a page may send: the ones the gateway reads. */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'cache-control',
  'content-encoding',
  'content-type',
  'inference-header-content-length',
  'traceparent',
  'tracestate',
  'x-infergate-priority',
  'x-infergate-timeout-ms',
  'x-request-id',
  'x-session-id',
].join(', ');

/** Answer headers a page's script may read beyond the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = ['inference-header-content-length', 'retry-after', 'x-infergate-cache', 'x-request-id'].join(', ');

/** Whether a page from `origin` may call a path that is (or is not) an admin route. */
export function originAllowed(cors: CorsConfig, origin: string, admin: boolean): boolean {
  if (cors.origins.includes(origin)) return true;
  return !admin && cors.origins.includes('*');
}

/** The CORS headers of an answer to a request from `origin` to `url`; undefined when it gets none. */
export function corsAnswerHeaders(cors: CorsConfig, origin: string, url: string): Record<string, string> | undefined {
  if (!originAllowed(cors, origin, isAdminUrl(url))) return undefined;
  // A named origin is echoed, so the answer differs by Origin (Vary); `*` is the same for every page.
  if (cors.origins.includes(origin)) return { 'access-control-allow-origin': origin, 'access-control-expose-headers': CORS_EXPOSED_HEADERS, vary: 'Origin' };
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': CORS_EXPOSED_HEADERS };
}

/**
 * The answer to OPTIONS while CORS is on: a preflight (Origin and Access-Control-Request-Method) or a plain
 * OPTIONS. Throws GW_ERR_ROUTE_NOT_FOUND for a path with no endpoint and GW_ERR_CORS_ORIGIN for an origin
 * not allowed. The requested method is not checked: the methods the path takes are listed, and the browser
 * refuses its own request when they do not include it.
 */
export function optionsReply(cors: CorsConfig, url: string, origin: string | undefined, requestedMethod: string | undefined): Reply {
  const found = matchPath(url);
  if (!found) throw new InfergateError('GW_ERR_ROUTE_NOT_FOUND', `OPTIONS ${clientText(url, 128)}`);
  const allow = [...found.methods, 'OPTIONS'].join(', ');
  if (origin === undefined || requestedMethod === undefined) return { status: 204, headers: { allow }, body: '' };
  const admin = isAdminRoute(found.route);
  if (!originAllowed(cors, origin, admin)) {
    const why = admin && cors.origins.includes('*') ? ' (admin routes need their origin listed by name; "*" does not cover them)' : '';
    throw new InfergateError('GW_ERR_CORS_ORIGIN', `${clientText(origin)} is not in server.cors.origins${why}`);
  }
  return {
    status: 204,
    headers: {
      allow,
      'access-control-allow-origin': cors.origins.includes(origin) ? origin : '*',
      'access-control-allow-methods': found.methods.join(', '),
      'access-control-allow-headers': CORS_ALLOWED_HEADERS,
      'access-control-max-age': String(cors.maxAgeSeconds),
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    },
    body: '',
  };
}

function isAdminUrl(url: string): boolean {
  const found = matchPath(url);
  return found !== undefined && isAdminRoute(found.route);
}
