// Micro-benchmark of how a small JSON answer is handed to node:http (not run by tap):
//
//   node benchmarks/micro/reply-write.ts --rounds 5 --duration 3
//
// The gateway renders its JSON answers as ASCII text so that the HTTP front
// can hand Node one string (common/kserve/encode-response.ts,
// encodeInferResponseText). Why: for a string body Node prepends the header
// block to it and makes one plain write; a Buffer body goes out as a second
// chunk after the header block, through a writev.
//
//   string  res.end(text)    → socket.write(header + text)
//   buffer  res.end(buffer)  → socket writev([header, buffer])
//
// Measured: µs of server CPU (user + sys, process.cpuUsage) per answered
// request, for the same ~300-byte KServe v2 answer, with Content-Type and
// Content-Length, from a bare keep-alive server. Each variant's server runs in
// its own child process (this file, forked with `--serve <variant>`), and
// reports its CPU and answer count over IPC before and after each round; the
// parent loads it with autocannon (16 connections, POST). The variants run in
// interleaved rounds (string, buffer, string, …) so that machine load drifts
// over both alike, and the median of the rounds is printed.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { encodeInferResponseText } from '../../common/kserve/encode-response.ts';

const VARIANTS = ['string', 'buffer'] as const;
type Variant = (typeof VARIANTS)[number];

/** Child → parent over IPC; the parent's only message is 'usage', asking for a snapshot. */
type ChildMessage = { type: 'listening'; port: number; bodyBytes: number } | { type: 'usage'; cpuUs: number; answered: number };

const CONNECTIONS = 16;
const WARM_UP_S = 1;
const REQUEST_BODY = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });

/** A classifier's answer: ten float32 probabilities, as the gateway encodes it. */
function answerText(): string {
  const probabilities = Float32Array.from([0.0123, 0.0456, 0.7311, 0.0089, 0.0672, 0.0034, 0.0551, 0.0198, 0.0417, 0.0149]);
  const { text, ascii } = encodeInferResponseText({
    modelName: 'classifier',
    modelVersion: '1',
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 10], data: new Uint8Array(probabilities.buffer) }],
  });
  if (!ascii) throw new Error('the answer is not ASCII');
  return text;
}

function serve(variant: Variant): void {
  const text = answerText();
  const buffer = Buffer.from(text, 'latin1');
  const headers = { 'content-type': 'application/json', 'content-length': String(buffer.byteLength) };
  let answered = 0;
  const server = createServer((req, res) => {
    req.resume(); // the request body is read and dropped alike in both variants
    req.on('end', () => {
      answered++;
      res.writeHead(200, headers);
      if (variant === 'string') res.end(text);
      else res.end(buffer);
    });
  });
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send!({ type: 'usage', cpuUs: user + system, answered } satisfies ChildMessage);
  });
  process.on('disconnect', () => {
    server.close();
    server.closeAllConnections();
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    process.send!({ type: 'listening', port: address.port, bodyBytes: buffer.byteLength } satisfies ChildMessage);
  });
}

const nextMessage = async (child: ChildProcess): Promise<ChildMessage> => ((await once(child, 'message')) as [ChildMessage])[0];

async function usage(child: ChildProcess): Promise<{ cpuUs: number; answered: number; atMs: number }> {
  const reply = nextMessage(child);
  child.send('usage');
  const message = await reply;
  if (message.type !== 'usage') throw new Error(`unexpected ${message.type} message`);
  return { cpuUs: message.cpuUs, answered: message.answered, atMs: performance.now() };
}

async function load(port: number, durationS: number): Promise<void> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v2/models/classifier/infer`,
    connections: CONNECTIONS,
    duration: durationS,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: REQUEST_BODY,
  });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx answers`);
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, duration: { type: 'string', default: '3' } } });
  const [rounds, durationS] = [Number(values.rounds), Number(values.duration)];
  if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(durationS) && durationS > 0)) throw new Error('--rounds and --duration take positive integers');

  const children: ChildProcess[] = [];
  try {
    const servers = [];
    for (const variant of VARIANTS) {
      const child = fork(import.meta.filename, ['--serve', variant]);
      children.push(child);
      // An exit resolves (not rejects) the race, so the children's kill at the end leaves no rejection behind.
      const message = await Promise.race([nextMessage(child), once(child, 'exit').then(() => undefined)]);
      if (message?.type !== 'listening') throw new Error(`${variant} server: ${message ? `unexpected ${message.type} message` : 'exited'}`);
      await load(message.port, WARM_UP_S);
      servers.push({ variant, child, port: message.port, bodyBytes: message.bodyBytes, cpuPerRequestUs: [] as number[], requestsPerS: [] as number[] });
    }
    for (let round = 0; round < rounds; round++) {
      for (const server of servers) {
        const before = await usage(server.child);
        await load(server.port, durationS);
        const after = await usage(server.child);
        const answered = after.answered - before.answered;
        server.cpuPerRequestUs.push((after.cpuUs - before.cpuUs) / answered);
        server.requestsPerS.push((answered * 1000) / (after.atMs - before.atMs));
      }
    }

    console.log(`server CPU per answer, median of ${rounds} interleaved rounds of ${durationS} s, ${CONNECTIONS} connections (${process.version})`);
    console.log(`  ${'variant'.padEnd(8)} ${'body B'.padStart(7)} ${'µs CPU/req'.padStart(11)} ${'req/s'.padStart(8)}`);
    const cpu = new Map<Variant, number>();
    for (const s of servers) {
      cpu.set(s.variant, median(s.cpuPerRequestUs));
      console.log(`  ${s.variant.padEnd(8)} ${String(s.bodyBytes).padStart(7)} ${cpu.get(s.variant)!.toFixed(2).padStart(11)} ${median(s.requestsPerS).toFixed(0).padStart(8)}`);
    }
    console.log(`  string/buffer CPU ratio: ${(cpu.get('string')! / cpu.get('buffer')!).toFixed(3)}`);
  } finally {
    for (const child of children) child.kill();
  }
}

const { values: role } = parseArgs({ options: { serve: { type: 'string' } }, strict: false });
if (role.serve === undefined) await main();
else if ((VARIANTS as readonly unknown[]).includes(role.serve)) serve(role.serve as Variant);
else throw new Error(`--serve takes ${VARIANTS.join(' or ')}`);
