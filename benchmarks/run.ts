// Benchmark entry: `npm run bench -- [overhead] [options]`.
//
// Starts each system under test as its own process (the load generator never
// runs inside the gateway), waits for it to be ready, drives closed-loop load
// with autocannon, stops everything it started, and prints one row per
// (system, connections): req/s and latency percentiles. Raw results go to
// benchmarks/results/<date>-<scenario>/results.json.
//
// Systems:
//   direct   one worker process, binary frames straight to its TCP port
//   gateway  infergate with --workers local workers, KServe v2 JSON

import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeFrame, FRAME_CONTENT_TYPE, type InferRequestHeader } from '../common/wire.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'infergate.ts');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    connections: { type: 'string', default: '16,64' },
    duration: { type: 'string', default: '10' },
    workers: { type: 'string', default: '2' },
    rows: { type: 'string', default: '1' },
    models: { type: 'string', default: join(ROOT, 'models') },
    systems: { type: 'string', default: 'direct,gateway' },
  },
});
const scenario = positionals[0] ?? 'overhead';
if (scenario !== 'overhead') {
  process.stderr.write(`bench: unknown scenario "${scenario}" (available: overhead)\n`);
  process.exit(2);
}
const connectionCounts = values.connections.split(',').map(Number);
const durationSeconds = Number(values.duration);
const rows = Number(values.rows);
const workerCount = Number(values.workers);

type Row = { system: string; connections: number; requestsPerSec: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; errors: number; non2xx: number };

const started: ChildProcess[] = [];
process.on('exit', () => started.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

function start(args: string[], readyPattern: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      if (readyPattern.test(output)) resolve({ child, output: () => output });
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with code ${code} before it was ready:\n${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

function classifierInput(): number[] {
  // Fixed, non-trivial values: identical bodies, so every request costs the same.
  return Array.from({ length: rows * 64 }, (_, i) => Math.fround(Math.sin(i) * 0.5));
}

async function load(system: string, url: string, connections: number, body: Buffer | string, contentType: string): Promise<Row> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    connections,
    duration: durationSeconds,
  });
  return {
    system,
    connections,
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const results: Row[] = [];
const systems = values.systems.split(',');
const input = classifierInput();

if (systems.includes('direct')) {
  const port = await freePort();
  const worker = await start(['worker', '--listen', `127.0.0.1:${port}`, '--models', values.models, '--model', 'classifier'], /listening/);
  const frame = encodeFrame<InferRequestHeader>({ model: 'classifier', version: '2' }, [
    { name: 'input', datatype: 'FP32', shape: [rows, 64], data: new Uint8Array(Float32Array.from(input).buffer) },
  ]);
  for (const connections of connectionCounts) {
    results.push(await load('direct', `http://127.0.0.1:${port}/infer`, connections, Buffer.from(frame), FRAME_CONTENT_TYPE));
  }
  await stop(worker.child);
}

if (systems.includes('gateway')) {
  const gateway = await start(['gateway', '--port', '0', '--replicas', String(workerCount), '--models', values.models], /gateway ready/);
  const port = /listening on http:\/\/[^:]+:(\d+)/.exec(gateway.output())![1];
  const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64], data: input }] });
  for (const connections of connectionCounts) {
    results.push(await load('gateway', `http://127.0.0.1:${port}/v2/models/classifier/infer`, connections, body, 'application/json'));
  }
  await stop(gateway.child);
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
console.log(`\n${scenario}: classifier, ${rows} row(s)/request, ${durationSeconds}s per run, ${workerCount} gateway workers, ${cpus().length} cores, Node ${process.version}\n`);
console.log('| system | connections | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | non-2xx |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.system} | ${r.connections} | ${fmt(r.requestsPerSec)} | ${fmt(r.p50Ms)} | ${fmt(r.p90Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.maxMs)} | ${r.errors} | ${r.non2xx} |`);
}

const dir = join(ROOT, 'benchmarks', 'results', `${new Date().toISOString().slice(0, 10)}-${scenario}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'results.json'), JSON.stringify({ scenario, options: values, node: process.version, cores: cpus().length, results }, null, 2));
console.log(`\nraw results: ${dir}/results.json`);
const failed = results.some((r) => r.errors > 0 || r.non2xx > 0);
process.exitCode = failed ? 1 : 0;
