// Reading request bodies: Content-Encoding gzip/deflate decoded as the body
// arrives, with the size limit on what it decompresses to (a zip bomb is
// refused early), corrupt input and unknown codings refused.

import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { constants, createGzip, deflateSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { readBody, type ReadBodyOptions } from '../../../gateway/http/body.ts';
import { RequestBudget } from '../../../gateway/http/request-budget.ts';

/** A request whose body the test writes; `written` counts the bytes the reader let in. */
function fakeRequest(headers: Record<string, string>) {
  const stream = new PassThrough({ highWaterMark: 16 * 1024 });
  return Object.assign(stream, { headers }) as unknown as IncomingMessage & PassThrough;
}

const options = (maxBytes: number, extra: Partial<ReadBodyOptions> = {}): ReadBodyOptions => ({ maxBytes, startedMs: 0, timeoutMs: 60_000, now: () => 0, ...extra });

/** Writes `body` in pieces with back-pressure; resolves with the bytes written when done or when the reader stops. */
async function feed(req: PassThrough, body: Buffer, pieceBytes = 4096, stop?: Promise<unknown>): Promise<number> {
  let stopped = false;
  void stop?.then(() => (stopped = true), () => (stopped = true));
  let written = 0;
  for (let at = 0; at < body.byteLength && !stopped; at += pieceBytes) {
    const piece = body.subarray(at, at + pieceBytes);
    written += piece.byteLength;
    if (!req.write(piece)) await new Promise((resolve) => req.once('drain', resolve));
    else await null; // lets a reader that has stopped say so
  }
  if (!stopped) req.end();
  return written;
}

const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1000], data: Array.from({ length: 1000 }, (_, i) => i / 7) }] }));

t.test('gzip, x-gzip and deflate bodies come out decoded; identity and none as they are', async (t) => {
  const table: Array<[string | undefined, Buffer]> = [
    ['gzip', gzipSync(json)],
    ['x-gzip', gzipSync(json)],
    ['deflate', deflateSync(json)],
    ['identity', json],
    [undefined, json],
  ];
  for (const [coding, wire] of table) {
    const req = fakeRequest({ ...(coding ? { 'content-encoding': coding } : {}), 'content-length': String(wire.byteLength) });
    const body = readBody(req, options(1024 * 1024));
    await feed(req, wire, 1000);
    t.same(await body, json, `${coding ?? 'no coding'}`);
  }
});

t.test('a coding the gateway cannot decode is 415 before a byte is read', async (t) => {
  for (const coding of ['br', 'zstd', 'gzip, gzip']) {
    const req = fakeRequest({ 'content-encoding': coding });
    await t.rejects(readBody(req, options(1024)), { code: 'GW_ERR_UNSUPPORTED_ENCODING' }, coding);
    t.equal(req.listenerCount('data'), 0, `${coding}: nothing listens to the body`);
  }
});

t.test('a body that does not decompress is 400 GW_ERR_MALFORMED_ENCODING', async (t) => {
  const gzip = gzipSync(json);
  const table: Array<[string, string, Buffer]> = [
    ['not gzip at all', 'gzip', json],
    ['truncated', 'gzip', gzip.subarray(0, gzip.byteLength / 2)],
    ['corrupted', 'gzip', Buffer.concat([gzip.subarray(0, 20), Buffer.alloc(50, 0xff), gzip.subarray(70)])],
    ['gzip sent as deflate', 'deflate', gzip],
    ['empty', 'gzip', Buffer.alloc(0)],
  ];
  for (const [name, coding, wire] of table) {
    const req = fakeRequest({ 'content-encoding': coding });
    const body = readBody(req, options(1024 * 1024));
    void feed(req, wire, 512, body);
    await t.rejects(body, { code: 'GW_ERR_MALFORMED_ENCODING', message: new RegExp(`^request body does not decode as its Content-Encoding says: ${coding}: `) }, name);
  }
});

t.test('a zip bomb is refused with 413 once its output passes the limit, long before it is all read', async (t) => {
  // 256 MiB of zeros in about 256 KB of gzip, compressed as a stream (never held whole).
  const zip = createGzip({ level: constants.Z_BEST_COMPRESSION });
  const pieces: Buffer[] = [];
  zip.on('data', (piece: Buffer) => pieces.push(piece));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < 256; i++) if (!zip.write(zeros)) await new Promise((resolve) => zip.once('drain', resolve));
  await new Promise((resolve) => zip.end(resolve));
  const bomb = Buffer.concat(pieces);
  t.ok(bomb.byteLength < 400 * 1024, `${bomb.byteLength} bytes of gzip`);

  const req = fakeRequest({ 'content-encoding': 'gzip', 'content-length': String(bomb.byteLength) });
  const body = readBody(req, options(1024 * 1024));
  const written = feed(req, bomb, 1024, body);
  await t.rejects(body, { code: 'GW_ERR_BODY_TOO_LARGE', message: /the gzip body decompresses to \d+ bytes and more > limit of 1048576 \(server\.maxBodyBytes\)$/ });
  t.ok((await written) < bomb.byteLength / 4, `the reader stopped after ${await written} of ${bomb.byteLength} bytes`);
});

t.test('the wire bytes are limited too (an incompressible body)', async (t) => {
  const noise = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 2654435761) >>> 24));
  const wire = gzipSync(noise, { level: 0 });
  const req = fakeRequest({ 'content-encoding': 'gzip' });
  const body = readBody(req, options(32 * 1024));
  void feed(req, wire, 4096, body);
  await t.rejects(body, { code: 'GW_ERR_BODY_TOO_LARGE' });
  const declared = fakeRequest({ 'content-encoding': 'gzip', 'content-length': String(wire.byteLength) });
  await t.rejects(readBody(declared, options(32 * 1024)), { code: 'GW_ERR_BODY_TOO_LARGE', message: /^request body is larger than the configured limit: \d+ bytes > limit/ }, 'a declared length over the limit, before reading');
});

t.test('the decoded body grows its reservation in the request budget, and overdrawing it is 503', async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024, 0x20);
  const wire = gzipSync(big);
  const budget = new RequestBudget(100 * 1024 * 1024);
  const reservation = budget.reserve(wire.byteLength);
  const req = fakeRequest({ 'content-encoding': 'gzip', 'content-length': String(wire.byteLength) });
  const body = readBody(req, options(8 * 1024 * 1024, { reservation }));
  await feed(req, wire);
  t.equal((await body).byteLength, big.byteLength);
  t.equal(budget.inUseBytes, 3 * 1024 * 1024 * 5, 'reserved for the 3 MiB decoded, in 1 MiB steps, times the decoding expansion');
  reservation.release();

  const tight = new RequestBudget(2 * 1024 * 1024 * 5);
  const tightReq = fakeRequest({ 'content-encoding': 'gzip' });
  const refused = readBody(tightReq, options(8 * 1024 * 1024, { reservation: tight.reserve(0) }));
  void feed(tightReq, wire, 4096, refused);
  await t.rejects(refused, { code: 'GW_ERR_OVERLOADED' });
});

t.test("the request's deadline covers the upload of an encoded body", async (t) => {
  const req = fakeRequest({ 'content-encoding': 'gzip' });
  const body = readBody(req, { maxBytes: 1024 * 1024, startedMs: 0, timeoutMs: 5, now: () => 5 });
  req.write(gzipSync(json).subarray(0, 10));
  await t.rejects(body, { code: 'GW_ERR_BODY_TIMEOUT', message: /10 bytes of the gzip body \(0 decompressed\) had arrived/ });
});

t.test('a client that goes away mid-body', async (t) => {
  const req = fakeRequest({ 'content-encoding': 'deflate' });
  const body = readBody(req, options(1024 * 1024));
  req.write(deflateSync(json).subarray(0, 10));
  req.emit('aborted');
  await t.rejects(body, { code: 'GW_ERR_INVALID_REQUEST', message: /client aborted/ });
  const broken = fakeRequest({ 'content-encoding': 'gzip' });
  const failed = readBody(broken, options(1024 * 1024));
  broken.destroy(new Error('socket hang up'));
  await t.rejects(failed, { code: 'GW_ERR_INVALID_REQUEST', message: /socket hang up/ });
});
