// Sends one HTTP request from its own process and prints {status, body, ms}
// as JSON: a test's hostile client, kept apart from the test process whose
// event loop measures the gateway's latency meanwhile.
//
//   node send-once.ts '{"url": …, "bodyFile": …, "headers": {…}, "trickleBytesPerS": 8, "declaredBytes": 400}'
//
// With trickleBytesPerS the body is not sent: that many spaces go out each
// second against a declared Content-Length, until the server answers.

import { readFileSync } from 'node:fs';
import { request } from 'node:http';

export type SendOnceOptions = {
  url: string;
  bodyFile?: string;
  body?: string;
  headers?: Record<string, string>;
  trickleBytesPerS?: number;
  declaredBytes?: number;
};

export type SendOnceResult = { status: number; body: string; ms: number };

const options = JSON.parse(process.argv[2]!) as SendOnceOptions;
const body = options.bodyFile ? readFileSync(options.bodyFile) : options.body === undefined ? undefined : Buffer.from(options.body);
const length = options.trickleBytesPerS ? options.declaredBytes ?? 0 : body?.byteLength ?? 0;
const started = performance.now();
const req = request(options.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length), ...options.headers } }, (res) => {
  clearInterval(trickle);
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    const result: SendOnceResult = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started };
    // Exit once the answer is out (a pipe is written asynchronously): the agent's kept-alive socket would hold the process.
    process.stdout.write(JSON.stringify(result), () => process.exit(0));
  });
});
// The server may close the connection while the body is still going out (a 408 or 413): the answer still counts.
req.on('error', () => {});
// Headers go out at once (Node would hold them until the first write): the deadline starts with them.
if (options.trickleBytesPerS) req.flushHeaders();
const trickle = options.trickleBytesPerS ? setInterval(() => req.write(' '.repeat(options.trickleBytesPerS!)), 1000) : undefined;
if (!options.trickleBytesPerS) req.end(body);
