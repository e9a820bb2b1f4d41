#!/usr/bin/env node
// `npm run bench:profile -- [--model classifier] [--batching on|off] [--hits] [--connections 64] [--duration 10] [--out DIR]`
//
// Where the gateway's time goes: starts a gateway (2 local workers, cache off)
// under `node --cpu-prof`, loads it with a closed loop of unique JSON bodies
// (with --hits: the cache on and the body source's hot bodies, each answered
// once before the profile counts, so that every counted request is a cache
// hit) from this process, stops it (the profile is written as it exits), and
// prints its busy time by stage of the infer path (lib/profile-stages.ts), per
// answered request. The .cpuprofile file is kept in --out for a flame graph
// (Chrome DevTools → Performance → Load profile).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GATEWAY_NODE_FLAGS } from '../gateway/node-flags.ts';
import { createBodySource } from './lib/bodies.ts';
import { runClosedLoop } from './lib/closed-loop.ts';
import { freePort } from './lib/processes.ts';
import { stageShares, type CpuProfile } from './lib/profile-stages.ts';
import { Recorder } from './lib/recorder.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INPUT_WIDTH: Record<string, number> = { classifier: 64, heavy: 512 };

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'classifier' },
    batching: { type: 'string', default: 'on' },
    hits: { type: 'boolean', default: false },
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    models: { type: 'string', default: join(ROOT, 'models') },
    out: { type: 'string' },
  },
});
const model = values.model!;
const width = INPUT_WIDTH[model];
const connections = Number(values.connections);
const durationS = Number(values.duration);
if (width === undefined || !['on', 'off'].includes(values.batching!) || !(connections > 0) || !(durationS > 0)) {
  process.stderr.write('usage: npm run bench:profile -- [--model classifier|heavy] [--batching on|off] [--hits] [--connections N] [--duration S] [--models DIR] [--out DIR]\n');
  process.exit(2);
}
const out = resolve(values.out ?? mkdtempSync(join(tmpdir(), 'infergate-profile-')));
mkdirSync(out, { recursive: true });

const port = await freePort();
const configFile = join(out, 'gateway.yaml');
writeFileSync(
  configFile,
  `server: { port: ${port} }\nmodels: { repository: ${JSON.stringify(resolve(values.models!))}, include: [${model}], defaultReplicas: 2 }\n` +
    `cache: { enabled: ${values.hits} }\nbatching: { enabled: ${values.batching === 'on'} }\n`,
);
const gateway = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${out}`, join(ROOT, 'bin', 'infergate.ts'), 'gateway', '--config', configFile], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, INFERGATE_GRPC_PORT: '0' },
});
let stdout = '';
await new Promise<void>((ready, fail) => {
  gateway.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (/gateway ready/.test(stdout)) ready();
  });
  gateway.once('exit', (code) => fail(new Error(`the gateway exited (${code}) before it was ready:\n${stdout}`)));
});

const bodies = createBodySource({ format: 'json', model, version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, width] }], rows: 1, mode: 'unique', seed: 1, ...(values.hits ? { hitRatio: 1 } : {}) });
// With --hits, each hot body once (as the harness does), so that the closed loop below only hits the cache.
for (const body of bodies.hot ?? []) {
  const response = await fetch(`http://127.0.0.1:${port}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': bodies.contentType }, body });
  await response.arrayBuffer();
}
const recorder = new Recorder();
await runClosedLoop({
  origin: `http://127.0.0.1:${port}`,
  path: `/v2/models/${model}/infer`,
  headers: { 'content-type': bodies.contentType },
  bodies,
  load: { mode: 'closed', connections, pipelining: 1, durationS },
  recorder,
  timeoutMs: 10_000,
});
const summary = recorder.summary();
gateway.kill('SIGINT');
await once(gateway, 'exit');

const file = readdirSync(out).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no .cpuprofile written in ${out}`);
const { busyMs, stages } = stageShares(JSON.parse(readFileSync(join(out, file), 'utf8')) as CpuProfile);
const answered = summary.ok;
const lines = [
  `${model}, batching ${values.batching}, ${connections} connections, ${durationS} s: ${Math.round(summary.responsesPerS)} req/s, ${answered} answered, p50 ${summary.latency.p50Ms.toFixed(2)} ms, p99 ${summary.latency.p99Ms.toFixed(2)} ms`,
  `gateway JS thread busy ${(busyMs / 1000).toFixed(2)} s (${((busyMs * 1000) / Math.max(1, answered)).toFixed(1)} µs per answered request)`,
  '',
  '| stage | share of busy time | µs per request |',
  '|---|--:|--:|',
  ...stages.map((s) => `| ${s.stage} | ${(100 * s.share).toFixed(1)}% | ${((s.busyMs * 1000) / Math.max(1, answered)).toFixed(1)} |`),
  '',
  `profile: ${join(out, file)}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
