// How answers are written: compressed for clients that accept gzip or
// deflate (bodies, parts and streams, above a size threshold, with Vary),
// left alone for everyone else, for HEAD and for answers already encoded.

import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import t from 'tap';
import { silentLogger } from '../../../common/logger.ts';
import type { HandleRoute, Reply } from '../../../gateway/http/reply.ts';
import { HttpFront } from '../../../gateway/http/server.ts';

const bigText = JSON.stringify({ data: Array.from({ length: 4000 }, (_, i) => i % 97) });

/** Replies by model name: GET /v2/models/{kind}. */
const replies: Record<string, () => Reply> = {
  small: () => ({ status: 200, body: { ok: true } }),
  big: () => ({ status: 200, body: JSON.parse(bigText) as object }),
  parts: () => ({ status: 200, parts: [Buffer.from(bigText.slice(0, 1000)), Buffer.from(bigText.slice(1000))] }),
  stream: () => ({
    status: 200,
    stream: (async function* () {
      for (let at = 0; at < bigText.length; at += 1000) yield Buffer.from(bigText.slice(at, at + 1000));
    })(),
  }),
  failing: () => ({
    status: 200,
    stream: (async function* () {
      yield Buffer.from(bigText.slice(0, 5000));
      throw new Error('rendering failed');
    })(),
  }),
  encoded: () => ({ status: 200, headers: { 'content-encoding': 'gzip' }, body: gzipSync(bigText) }),
};

async function started(minBytes: number | undefined) {
  const handle: HandleRoute = (route) => replies[route.name === 'modelMetadata' ? route.model : 'small']!();
  const front = new HttpFront({ handle, maxInFlightRequests: 10, logger: silentLogger(), ...(minBytes !== undefined ? { compression: { minBytes } } : {}) });
  await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    front.server.closeAllConnections();
    front.server.close();
  });
  return (front.server.address() as AddressInfo).port;
}

type Raw = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; error?: string };

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error: err.message }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('answers at least minBytes long go compressed to a client that asks, in the coding it prefers', async (t) => {
  const port = await started(1024);
  const table: Array<{ path: string; accept?: string; coding?: string; chunked?: boolean }> = [
    { path: '/v2/models/big', accept: 'gzip', coding: 'gzip' },
    { path: '/v2/models/big', accept: 'gzip, deflate, br', coding: 'gzip' },
    { path: '/v2/models/big', accept: 'deflate', coding: 'deflate' },
    { path: '/v2/models/big', accept: 'br' },
    { path: '/v2/models/big' },
    { path: '/v2/models/small', accept: 'gzip' },
    { path: '/v2/models/parts', accept: 'gzip', coding: 'gzip', chunked: true },
    { path: '/v2/models/parts' },
    { path: '/v2/models/stream', accept: 'deflate', coding: 'deflate', chunked: true },
    { path: '/v2/models/stream', chunked: true },
  ];
  for (const row of table) {
    const name = `${row.path} accept ${row.accept ?? '(none)'}`;
    const answer = await get(port, row.path, row.accept ? { 'accept-encoding': row.accept } : {});
    t.equal(answer.status, 200, name);
    t.equal(answer.headers['content-encoding'], row.coding, `${name}: content-encoding`);
    t.equal(answer.headers.vary, row.coding ? 'Accept-Encoding' : undefined, `${name}: vary`);
    t.ok(answer.headers['x-request-id'], `${name}: request id`);
    if (row.chunked) t.equal(answer.headers['transfer-encoding'], 'chunked', `${name}: chunked`);
    else t.equal(Number(answer.headers['content-length']), answer.body.byteLength, `${name}: its length`);
    const body = row.coding === 'gzip' ? gunzipSync(answer.body) : row.coding === 'deflate' ? inflateSync(answer.body) : answer.body;
    if (row.path !== '/v2/models/small') t.equal(body.toString(), bigText, `${name}: the same bytes once decoded`);
    if (row.coding) t.ok(answer.body.byteLength < bigText.length / 2, `${name}: ${answer.body.byteLength} of ${bigText.length} bytes`);
  }
});

t.test('HEAD and answers already encoded are left alone; compression off leaves everything alone', async (t) => {
  const port = await started(1024);
  const head = await get(port, '/v2/models/big', { 'accept-encoding': 'gzip' }, 'HEAD');
  t.equal(head.headers['content-encoding'], undefined, 'HEAD: not compressed');
  t.equal(Number(head.headers['content-length']), bigText.length, 'HEAD: the length of the GET answer');
  const encoded = await get(port, '/v2/models/encoded', { 'accept-encoding': 'gzip' });
  t.equal(gunzipSync(encoded.body).toString(), bigText, 'compressed once, not twice');
  const off = await started(undefined);
  const plain = await get(off, '/v2/models/big', { 'accept-encoding': 'gzip' });
  t.equal(plain.headers['content-encoding'], undefined);
  t.equal(plain.body.toString(), bigText);
  const zero = await started(0);
  t.equal((await get(zero, '/v2/models/small', { 'accept-encoding': 'gzip' })).headers['content-encoding'], 'gzip', 'minBytes 0: everything');
});

t.test('a stream that fails while compressed cuts the answer; the front goes on serving', async (t) => {
  const port = await started(1024);
  const cut = await get(port, '/v2/models/failing', { 'accept-encoding': 'gzip' }).catch((err: Error) => ({ error: err.message }) as Raw);
  t.ok(cut.error, `the client sees a cut answer (${cut.error})`);
  t.equal((await get(port, '/v2/models/big', { 'accept-encoding': 'gzip' })).status, 200);
});
