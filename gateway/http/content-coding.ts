// Which content coding a request body has (Content-Encoding) and which one an
// answer may be sent in (Accept-Encoding). Pure: body.ts decodes, server.ts
// compresses.
//
//   Content-Encoding: gzip | x-gzip | deflate | identity   one layer at most; anything else is 415
//   Accept-Encoding:  gzip, deflate, *, with q-values       the best of gzip and deflate, or none
//
// `deflate` is the zlib format (RFC 9110 §8.4.1.2), which is what Triton's
// client (Python's zlib.compress) sends and expects.

import { clientText, InfergateError } from '../../common/errors.ts';

export type Coding = 'gzip' | 'deflate';

function codingOf(name: string): Coding | undefined {
  if (name === 'gzip' || name === 'x-gzip') return 'gzip';
  if (name === 'deflate') return 'deflate';
  return undefined;
}

/**
 * The coding of a request body: undefined for none (or identity). Throws GW_ERR_UNSUPPORTED_ENCODING for a
 * coding the gateway cannot decode, and for two codings stacked (no client sends that; decoding it would
 * multiply a bomb's expansion).
 */
export function requestCoding(contentEncoding: string): Coding | undefined {
  let coding: Coding | undefined;
  for (const raw of contentEncoding.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    const known = codingOf(name);
    if (known === undefined) throw new InfergateError('GW_ERR_UNSUPPORTED_ENCODING', `Content-Encoding ${clientText(contentEncoding)}`);
    if (coding !== undefined) throw new InfergateError('GW_ERR_UNSUPPORTED_ENCODING', `Content-Encoding ${clientText(contentEncoding)} stacks codings; send one`);
    coding = known;
  }
  return coding;
}

/**
 * The coding an answer may use, by the client's Accept-Encoding: the one of gzip and deflate with the highest
 * q-value above 0 (a coding not named takes `*`'s), gzip on a tie; undefined when neither is acceptable.
 * A malformed q-value counts as 0: a header we cannot read never earns a compressed answer.
 */
export function acceptedCoding(acceptEncoding: string): Coding | undefined {
  let gzipQ: number | undefined;
  let deflateQ: number | undefined;
  let anyQ: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [rawName = '', ...params] = part.split(';');
    const name = rawName.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (match) q = Number(match[1]);
      else if (/^\s*q\s*=/i.test(param)) q = 0;
    }
    if (!Number.isFinite(q)) q = 0;
    if (name === '*') anyQ = q;
    else if (codingOf(name) === 'gzip') gzipQ = q;
    else if (name === 'deflate') deflateQ = q;
  }
  const gzip = gzipQ ?? anyQ ?? 0;
  const deflate = deflateQ ?? anyQ ?? 0;
  if (gzip <= 0 && deflate <= 0) return undefined;
  return gzip >= deflate ? 'gzip' : 'deflate';
}
