// Starts a real gateway (in the test process) over real worker processes and
// the demo models written into a temp dir. Everything it starts is stopped
// by t.teardown.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { Gateway } from '../../gateway/app.ts';
import { configSchema, type GatewayConfig } from '../../config/schema.ts';
import { writeDemoModels } from '../../scripts/demo-models/index.ts';
import { mulberry32 } from '../../scripts/demo-models/prng.ts';

type Teardown = { teardown(fn: () => unknown): void };

/** Writes the demo models into a fresh temp dir (removed at teardown). */
export async function demoRepository(t: Teardown): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-models-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await writeDemoModels(dir);
  return dir;
}

export type Overrides = { [K in keyof GatewayConfig]?: GatewayConfig[K] extends readonly unknown[] ? GatewayConfig[K] : Partial<GatewayConfig[K]> };

export type StartedGateway = { gateway: Gateway; url: string; repository: string };

/** A ready gateway on an ephemeral port; `overrides` patch the default config; `logger` receives the gateway's log lines (test/helpers/capture-logger.ts). */
export async function startGateway(t: Teardown, overrides: Overrides = {}, repository?: string, logger: Logger = silentLogger()): Promise<StartedGateway> {
  const repo = repository ?? (await demoRepository(t));
  // Workers print their own lines to the shared stdout: only warnings and worse, unless a test asks for more.
  const raw: Record<string, object> = { server: { port: 0, grpcPort: 0 }, models: { repository: repo }, logging: { level: 'warn' } };
  for (const [section, values] of Object.entries(overrides)) raw[section] = Array.isArray(values) ? values : { ...raw[section], ...values };
  const config = configSchema.parse(raw);
  const gateway = new Gateway(config, { logger });
  t.teardown(() => gateway.close());
  const address = await gateway.listen();
  await gateway.whenReady();
  return { gateway, url: `http://127.0.0.1:${address.port}`, repository: repo };
}

export type JsonAnswer = { status: number; body: any; headers: Headers };

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/**
 * An FP32 tensor named `input`, sent as binary tensor data: the gateway decodes it in no time whatever its size, so
 * concurrent requests reach the workers at once (a large JSON body is decoded in time slices, slowly under coverage).
 */
export function binaryFloatRequest(random: () => number, shape: readonly number[]): { body: Buffer; headers: Record<string, string> } {
  const count = shape.reduce((a, b) => a * b, 1);
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape, parameters: { binary_data_size: count * 4 } }] }));
  const tensor = Buffer.from(Float32Array.from(randomFloats(random, count)).buffer);
  return { body: Buffer.concat([head, tensor]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.byteLength) } };
}

/** Posts a binary request whose answer is JSON. */
export async function postBinary(url: string, request: { body: Buffer; headers: Record<string, string> }, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { ...request.headers, ...headers }, body: request.body });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** `whenReady` needs one replica per version; tests that count on every worker wait for each to be ready. */
export async function allReplicasReady(gateway: Gateway, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!gateway.replicas.replicas.every((r) => r.state === 'ready')) {
    if (Date.now() > deadline) throw new Error('not every replica turned ready');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function getJson(url: string): Promise<JsonAnswer> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Seeded inputs keep failures reproducible. */
export const seededRandom = mulberry32;

export function randomFloats(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => Math.fround(random() * 2 - 1));
}
