// HTTP fuzzing of a real gateway process (issue 18, item 5): a few thousand
// mutated requests against `infergate gateway` serving the demo classifier on
// one replica, sent on raw sockets with bounded concurrency, all derived from
// fixed seeds (fast-check's sampler and mulberry32), so every run sends the
// same bytes:
//
//   - byte flips, insertions and truncations of valid KServe bodies (with a
//     Content-Length that matches what is sent)
//   - field deletions, replacements and type swaps of valid KServe and TF
//     Serving bodies; binary-extension bodies with hostile header lengths
//   - hostile headers: huge, negative, duplicate and conflicting
//     Content-Length, bad Transfer-Encoding and broken chunking, invalid
//     characters in header names and values, oversized and numerous headers,
//     unknown Content-Encoding, bad request lines, fuzzed paths
//
// Afterwards: no answer was a 5xx (a 503 for overload or shutdown would be
// allowed; none is expected at this load), the gateway and its worker never
// restarted (same worker pid, `restarts` 0), a valid request is still
// answered correctly, and the gateway's peak RSS stayed under a bound.

import fc from 'fast-check';
import { connect } from 'node:net';
import t from 'tap';
import { mulberry32 } from '../../common/prng.ts';
import { CLASSIFIER_ONLY, isAlive, startGatewayProcess } from '../helpers/gateway-process.ts';
import { RawConnection, type RawAnswer } from '../helpers/raw-http.ts';
import { BYTE_EDIT, damage, MUTATION, mutate } from './fuzz-support.ts';

const CONCURRENCY = 16;
/** Longest wait for an answer; requests that leave the body short (on purpose) are cut off earlier. */
const ANSWER_TIMEOUT_MS = 5_000;
const SHORT_BODY_TIMEOUT_MS = 300;
const MAX_PEAK_RSS_BYTES = 300 * 1024 * 1024;
const SEED = 0x18f022;

const gateway = await startGatewayProcess(t, { replicas: 1, config: CLASSIFIER_ONLY });
const port = Number(new URL(gateway.origin).port);
const INFER = '/v2/models/classifier/infer';
const PREDICT = '/v1/models/classifier:predict';

type Replica = { pid: number | null; restarts: number };
const replicas = async (): Promise<Replica[]> => ((await (await fetch(`${gateway.origin}/admin/replicas`)).json()) as { replicas: Replica[] }).replicas;
const before = await replicas();

const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number): number => Math.floor(random() * n);

const row = (): number[] => Array.from({ length: 64 }, () => Math.round((random() * 2 - 1) * 1000) / 1000);
const validRequest = (rows: number): Record<string, unknown> => ({ id: 'fuzz', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: Array.from({ length: rows }, row) }] });
const validBody = (rows = 1 + int(3)): Buffer => Buffer.from(JSON.stringify(validRequest(rows)));

/** One request as raw bytes; `short`: the body is shorter than announced, so no answer may come before the client gives up. */
type Case = { kind: string; bytes: Buffer; short?: boolean };

function request(method: string, path: string, body: Uint8Array, headers: Array<[string, string]> = [], options: { contentLength?: boolean } = {}): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
  if (!headers.some(([name]) => name.toLowerCase() === 'content-type')) lines.push('Content-Type: application/json');
  if (options.contentLength !== false) lines.push(`Content-Length: ${body.byteLength}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, seed: number): T[] => fc.sample(arbitrary, { seed, numRuns });

function cases(): Case[] {
  const all: Case[] = [];
  // Byte-level damage of valid bodies, Content-Length matching.
  for (const edits of sample(fc.array(BYTE_EDIT, { minLength: 1, maxLength: 4 }), 900, SEED + 1)) all.push({ kind: 'byte damage', bytes: request('POST', INFER, damage(validBody(), edits)) });
  // Field deletions, replacements, type swaps.
  for (const mutations of sample(fc.array(MUTATION, { minLength: 1, maxLength: 3 }), 900, SEED + 2)) {
    all.push({ kind: 'field mutation', bytes: request('POST', INFER, Buffer.from(JSON.stringify(mutate(validRequest(1 + int(2)), mutations)))) });
  }
  for (const mutations of sample(fc.array(MUTATION, { minLength: 1, maxLength: 3 }), 300, SEED + 3)) {
    const body = random() < 0.5 ? { instances: [row()] } : { inputs: { input: [row(), row()] } };
    all.push({ kind: 'tfserving mutation', bytes: request('POST', PREDICT, Buffer.from(JSON.stringify(mutate(body, mutations)))) });
  }
  // Truncated bodies, declared at their truncated length.
  for (let i = 0; i < 200; i++) {
    const body = validBody();
    all.push({ kind: 'truncated', bytes: request('POST', pick([INFER, PREDICT]), body.subarray(0, int(body.byteLength))) });
  }
  // The binary extension with hostile header lengths and tails.
  for (let i = 0; i < 200; i++) {
    const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], parameters: { binary_data_size: pick([256, 255, 0, 1e9, -4]) } }] }));
    const tail = Buffer.from(Float32Array.from(row()).buffer).subarray(0, pick([256, 256, 255, 0, 100]));
    const length = pick([String(head.byteLength), String(head.byteLength + 1), '0', '-1', '99999999999999999999', 'abc', '', `${head.byteLength}, ${head.byteLength}`]);
    all.push({ kind: 'binary extension', bytes: request('POST', INFER, Buffer.concat([head, tail]), [['Inference-Header-Content-Length', length]]) });
  }
  // Hostile headers and framing.
  const body = validBody(1);
  const hostile: Array<() => Case> = [
    () => ({ kind: 'huge content-length', bytes: request('POST', INFER, body, [['Content-Length', '99999999999999999999999']], { contentLength: false }), short: true }),
    () => ({ kind: 'large content-length, short body', bytes: request('POST', INFER, body, [['Content-Length', String(1e12)]], { contentLength: false }), short: true }),
    () => ({ kind: 'negative content-length', bytes: request('POST', INFER, body, [['Content-Length', '-5']], { contentLength: false }) }),
    () => ({ kind: 'non-numeric content-length', bytes: request('POST', INFER, body, [['Content-Length', '12a']], { contentLength: false }) }),
    () => ({ kind: 'duplicate content-length (differing)', bytes: request('POST', INFER, body, [['Content-Length', String(body.byteLength - 3)]]) }),
    () => ({ kind: 'duplicate content-length (same)', bytes: request('POST', INFER, body, [['Content-Length', String(body.byteLength)]]) }),
    () => ({ kind: 'content-length list', bytes: request('POST', INFER, body, [['Content-Length', `${body.byteLength}, ${body.byteLength}`]], { contentLength: false }) }),
    () => ({ kind: 'content-length and transfer-encoding', bytes: request('POST', INFER, body, [['Transfer-Encoding', 'chunked']]) }),
    () => ({ kind: 'bad transfer-encoding', bytes: request('POST', INFER, body, [['Transfer-Encoding', pick(['gzip', 'chunked, gzip', 'xchunked', 'chunked, chunked', 'identity', ' chunked'])]], { contentLength: false }) }),
    () => ({ kind: 'broken chunking', bytes: request('POST', INFER, Buffer.from(pick([`zz\r\n${body}\r\n0\r\n\r\n`, `${(body.byteLength + 9).toString(16)}\r\n${body}\r\n0\r\n\r\n`, `5\r\n{"inp\r\nffffffffffffffff\r\n`, `${body.byteLength.toString(16)};ext=1\r\n${body}\r\n0\r\n\r\n`, `${body.byteLength.toString(16)}\r\n${body}0\r\n\r\n`])), [['Transfer-Encoding', 'chunked']], { contentLength: false }), short: true }),
    () => ({ kind: 'invalid header value characters', bytes: request('POST', INFER, body, [['X-Fuzz', `a${pick(['\u0000', '\u0007', '\u007f', '\r', '\u00ff'])}b`]]) }),
    () => ({ kind: 'invalid header name', bytes: request('POST', INFER, body, [[pick(['X Fuzz', 'X(Fuzz)', 'X-Fuzz\u0000', ' X-Fuzz', 'X-Fuzz ', 'Ü']), '1']]) }),
    () => ({ kind: 'header line without colon', bytes: Buffer.from(request('POST', INFER, body, [['NoColonHere', '']]).toString('latin1').replace('NoColonHere: ', 'NoColonHere'), 'latin1') }),
    () => ({ kind: 'huge header', bytes: request('POST', INFER, body, [['X-Fuzz', 'a'.repeat(pick([8_000, 20_000, 100_000]))]]) }),
    () => ({ kind: 'many headers', bytes: request('POST', INFER, body, Array.from({ length: pick([100, 1_000, 3_000]) }, (_, i): [string, string] => [`X-Fuzz-${i}`, String(i)])) }),
    () => ({ kind: 'content-encoding', bytes: request('POST', INFER, body, [['Content-Encoding', pick(['gzip', 'deflate', 'br', 'zstd', 'gzip, gzip', 'bogus'])]]) }),
    () => ({ kind: 'content-type', bytes: request('POST', INFER, body, [['Content-Type', pick(['text/plain', 'application/octet-stream', 'application/json; charset=latin1', '', 'multipart/form-data; boundary=x'])]]) }),
    // Empty lines before a request line are skipped (RFC 9112 §2.2): the server then waits for a request, as it should.
    () => ({ kind: 'empty lines', bytes: Buffer.from('\r\n\r\n'), short: true }),
    () => ({ kind: 'bad request line', bytes: Buffer.from(pick([`POST ${INFER} HTTP/9.9\r\n\r\n`, `POST  ${INFER}  HTTP/1.1\r\n\r\n`, `GARBAGE\r\n\r\n`, `POST http://evil.example${INFER} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`, `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`]), 'latin1') }),
    () => ({ kind: 'no host', bytes: Buffer.from(`POST ${INFER} HTTP/1.1\r\nContent-Length: ${body.byteLength}\r\nConnection: close\r\n\r\n${body}`) }),
    () => ({ kind: 'HTTP/1.0', bytes: Buffer.from(`POST ${INFER} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.byteLength}\r\n\r\n${body}`) }),
    () => ({ kind: 'expect', bytes: request('POST', INFER, body, [['Expect', pick(['100-continue', 'bogus'])]]) }),
    () => ({ kind: 'fuzzed path', bytes: request(pick(['POST', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'BREW']), pick(['/v2/models/', '/v1/models/', '/v2/models/classifier/versions/']) + pick(['classifier', '%', '%zz', '..', '%2e%2e/%2e%2e', 'c'.repeat(10_000), '\u00e9', 'classifier:predict', 'classifier/infer?x=%', 'x/../../admin']) + pick(['', '/infer', ':predict', '/ready', '/stats']), body) }),
    () => ({ kind: 'inference-header-content-length on json', bytes: request('POST', INFER, body, [['Inference-Header-Content-Length', pick(['0', '5', String(body.byteLength), String(body.byteLength + 1), '1e3'])]]) }),
    () => ({ kind: 'request headers', bytes: request('POST', INFER, body, [[pick(['x-request-id', 'traceparent', 'timeout', 'x-infergate-timeout-ms', 'grpc-timeout', 'accept', 'accept-encoding', 'origin']), pick(['', '-1', '0', '1e309', 'x'.repeat(2_000), '00-zz-zz-01', '*/*;q=abc', '99999999999999999999'])]]) }),
  ];
  for (let i = 0; i < 700; i++) all.push(pick(hostile)());
  return all;
}

type Result = { kind: string; status: number | 'closed' | 'timeout'; code?: string; short?: boolean; head?: string };

/** Sends one case on its own connection and reads its answer (or sees the connection close, or gives up). */
async function send(c: Case): Promise<Result> {
  const connection = await RawConnection.open(port);
  try {
    connection.send(c.bytes);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), c.short ? SHORT_BODY_TIMEOUT_MS : ANSWER_TIMEOUT_MS)));
    const head = c.bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
    const final = async (): Promise<RawAnswer | 'closed'> => {
      try {
        for (;;) {
          const answer = await connection.next({ head });
          if (answer.status >= 200) return answer; // past an interim 100 Continue
        }
      } catch {
        return 'closed';
      }
    };
    const answer = await Promise.race([final(), timeout]);
    clearTimeout(timer);
    if (typeof answer === 'string') return { kind: c.kind, status: answer, ...(c.short ? { short: true } : {}), head: c.bytes.subarray(0, 60).toString('latin1') };
    return { kind: c.kind, status: answer.status, ...codeOf(answer) };
  } finally {
    connection.close();
  }
}

function codeOf(answer: RawAnswer): { code?: string } {
  try {
    const code = (JSON.parse(answer.body.toString('utf8')) as { code?: unknown }).code;
    return typeof code === 'string' ? { code } : {};
  } catch {
    return {};
  }
}

const all = cases();
const results: Result[] = [];
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < all.length) results.push(await send(all[next++]!));
  }),
);
const seconds = (performance.now() - started) / 1000;

t.test('no 5xx answer to any mutated request', async (t) => {
  const byStatus = new Map<string, number>();
  for (const r of results) byStatus.set(String(r.status), (byStatus.get(String(r.status)) ?? 0) + 1);
  t.comment(`${results.length} requests in ${seconds.toFixed(1)} s: ${[...byStatus].sort().map(([s, n]) => `${s}×${n}`).join(' ')}`);
  const serverErrors = results.filter((r) => typeof r.status === 'number' && r.status >= 500 && !(r.status === 503 && (r.code === 'GW_ERR_OVERLOADED' || r.code === 'GW_ERR_SHUTTING_DOWN')));
  t.same(serverErrors.slice(0, 10), [], 'no 5xx answers');
  t.equal(results.length, all.length, 'every request was sent');
  t.ok(results.filter((r) => r.status === 200).length > 0, 'some mutated requests were still valid and served');
  const timeouts = results.filter((r) => r.status === 'timeout' && !r.short);
  t.same(timeouts.slice(0, 10), [], 'every request with a complete body got an answer or a closed connection');
});

t.test('the gateway and its worker never restarted', async (t) => {
  t.ok(isAlive(gateway.handle.pid), 'the gateway process is alive');
  const after = await replicas();
  t.same(after.map((r) => r.pid), before.map((r) => r.pid), 'same worker pids');
  t.same(after.map((r) => r.restarts), before.map(() => 0), 'no restarts');
});

t.test('a valid request is still answered correctly', async (t) => {
  const answer = await fetch(`${gateway.origin}${INFER}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(validRequest(2)) });
  t.equal(answer.status, 200);
  const body = (await answer.json()) as { outputs: Array<{ name: string; shape: number[]; data: number[] }> };
  const output = body.outputs.find((o) => o.name === 'probabilities');
  t.same(output?.shape, [2, 10]);
  for (let r = 0; r < 2; r++) {
    const sum = output!.data.slice(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0);
    t.ok(Math.abs(sum - 1) < 1e-4, `row ${r} is a probability distribution (sum ${sum})`);
  }
});

t.test('the gateway stayed within its memory bound', async (t) => {
  const peak = gateway.peakRssBytes();
  t.ok(peak < MAX_PEAK_RSS_BYTES, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB < ${MAX_PEAK_RSS_BYTES / 2 ** 20} MiB`);
});

// Keep `connect` for a last raw check: the listener still accepts connections after the fuzzing.
t.test('the listener still accepts connections', async (t) => {
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
  t.pass('connected');
});
