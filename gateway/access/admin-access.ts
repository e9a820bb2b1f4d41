// Who may call the admin routes (/admin/*: replica state, cache statistics
// and purge, batching statistics). Pure: the handlers give it the request's
// Authorization header and the client's address.
//
//   server.adminToken set    →  `Authorization: Bearer <token>` required, from any address,
//                               or `Basic base64(<any user>:<token>)`: a browser
//                               cannot send a bearer token on navigation, but it
//                               asks for a password and sends it on the status
//                               page's own requests too
//   no token configured      →  loopback clients only (the embedded default: a
//                               local operator can look, nobody else can purge)
//
// Tokens are compared by their SHA-256 digests with timingSafeEqual, so
// neither the comparison's time nor a length mismatch tells a prober how
// much of a guess was right.

import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { InfergateError } from '../../common/errors.ts';
import { presentedKey } from './api-keys.ts';

export type AdminAccess = (authorization: string | undefined, remoteAddress: string | undefined) => void;

/** A check that throws GW_ERR_UNAUTHORIZED (401) or GW_ERR_FORBIDDEN (403) for a caller who may not use the admin routes. */
export function adminAccess(token: string | undefined): AdminAccess {
  // auth.mode keys adds keys with the admin scope beside the token (access-gate.ts).
  if (token === undefined) {
    return (_authorization, remoteAddress) => {
      if (!isLoopback(remoteAddress)) {
        throw new InfergateError('GW_ERR_FORBIDDEN', `admin routes answer loopback clients only, not ${remoteAddress ?? 'an unknown address'}, while server.adminToken is not set`);
      }
    };
  }
  const expected = digest(token);
  return (authorization) => {
    const presented = presentedKey(authorization, undefined);
    if (presented === undefined) throw new InfergateError('GW_ERR_UNAUTHORIZED', 'send Authorization: Bearer <server.adminToken>, or Basic with server.adminToken as the password');
    if (!timingSafeEqual(digest(presented), expected)) throw new InfergateError('GW_ERR_UNAUTHORIZED', 'the token presented is not server.adminToken');
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (::ffff:127.x.y.z), as Node reports a socket's remote address. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
