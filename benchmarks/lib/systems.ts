// The systems under test. Each starts as its own processes, reports where to
// send infer requests and in which body format, and stops what it started.
//
//   direct       one worker, binary frames to its POST /infer (no gateway)
//   direct-json  one worker, KServe v2 JSON to its public infer route
//   gateway      infergate with N local workers (KServe v2 JSON), served by P processes;
//                also KServe v2 gRPC when its settings ask for it (a free port)
//   nginx        NGINX least_conn over N standalone workers (KServe v2 JSON)
//   hello        a trivial HTTP server: the load generator's own ceiling
//   baseline     the gateway from another checkout (--baseline), started as gateway is
//
// Standalone workers get the session options the gateway gives its own
// workers (one intra-op and one inter-op thread), so the comparison is fair.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { latestVersion } from '../../common/model-repository.ts';
import type { ModelSignature, WorkerModelsBody } from '../../common/wire.ts';
import { workerArgv } from '../../common/worker-options.ts';
import { GATEWAY_NODE_FLAGS } from '../../gateway/node-flags.ts';
import type { BodyFormat } from './bodies.ts';
import type { ProcessRoot } from './cpu.ts';
import { findNginx, nginxConfig } from './nginx.ts';
import { freePort, waitForPort, type ChildProcessHandle, type ProcessGroup } from './processes.ts';

export const SYSTEM_NAMES = ['direct', 'direct-json', 'gateway', 'nginx', 'hello', 'baseline'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export type SystemContext = {
  processes: ProcessGroup;
  /** Project root (bin/infergate.ts lives there). */
  root: string;
  modelsDir: string;
  model: string;
  /** Workers behind gateway and nginx. */
  replicas: number;
  /** Gateway processes serving its port (--processes, server.processes); default 1, the gateway's own default, which is not passed. */
  gatewayProcesses?: number;
  /** A scratch directory for generated configs. */
  tmpDir: string;
  /** Written as the gateway's --config file (e.g. cache off). */
  gatewayConfig: Record<string, unknown>;
  readyTimeoutMs: number;
  /** The --baseline checkout, whose bin/infergate.ts the system baseline runs. */
  baselineRoot?: string;
  /** Gateway (and baseline): serve KServe v2 gRPC on this port (server.grpcPort); absent or 0: no gRPC listener. */
  grpcPort?: number;
  /** Headers the start's own requests carry (the gateway's metadata read), e.g. an API key under auth.mode keys. */
  requestHeaders?: Record<string, string>;
};

export type StartedSystem = {
  name: SystemName;
  origin: string;
  inferPath: string;
  format: BodyFormat;
  replicas: number;
  /** Gateway processes serving its port (gateway, baseline). */
  processes?: number;
  /** host:port of its KServe v2 gRPC listener, when it has one. */
  grpcAddress?: string;
  /** The model's signature as the system reports it; null for hello. */
  signature: ModelSignature | null;
  /** Its processes by role, for CPU accounting. */
  roots: ProcessRoot[];
  stop(): Promise<void>;
};

export type SystemDefinition = {
  summary: string;
  /** Why it cannot run on this machine, or null. */
  unavailable(env: NodeJS.ProcessEnv): string | null;
  start(ctx: SystemContext): Promise<StartedSystem>;
};

const kservePath = (model: string): string => `/v2/models/${encodeURIComponent(model)}/infer`;

/**
 * In a gateway's command line, and in those of its front processes (the
 * leader forks bin/infergate.ts gateway again), but not in its workers'
 * (worker/main.ts): the fronts' CPU counts as gateway, not workers.
 */
const GATEWAY_CMDLINE = 'bin/infergate.ts gateway';

export const SYSTEMS: Record<SystemName, SystemDefinition> = {
  direct: {
    summary: 'one worker, binary frames to POST /infer',
    unavailable: () => null,
    start: async (ctx) => {
      const w = await startWorker(ctx, 'worker');
      const signature = await workerSignature(w.origin, ctx.model);
      return { name: 'direct', origin: w.origin, inferPath: '/infer', format: 'binary', replicas: 1, signature, roots: [{ role: 'workers', pid: w.handle.pid }], stop: () => w.handle.stop() };
    },
  },
  'direct-json': {
    summary: 'one worker, KServe v2 JSON to its public infer route',
    unavailable: () => null,
    start: async (ctx) => {
      const w = await startWorker(ctx, 'worker');
      const signature = await workerSignature(w.origin, ctx.model);
      return { name: 'direct-json', origin: w.origin, inferPath: kservePath(ctx.model), format: 'json', replicas: 1, signature, roots: [{ role: 'workers', pid: w.handle.pid }], stop: () => w.handle.stop() };
    },
  },
  gateway: {
    summary: 'infergate gateway with N local workers, KServe v2 JSON',
    unavailable: () => null,
    start: async (ctx) => {
      const configFile = join(ctx.tmpDir, `gateway-${Date.now()}.yaml`);
      writeFileSync(configFile, stringify(ctx.gatewayConfig));
      const args = [...GATEWAY_NODE_FLAGS, join(ctx.root, 'bin', 'infergate.ts'), 'gateway', '--config', configFile, '--host', '127.0.0.1', '--port', '0', '--replicas', String(ctx.replicas), '--models', ctx.modelsDir];
      // Only when asked: a --baseline checkout from before server.processes would refuse the flag.
      const processes = ctx.gatewayProcesses ?? 1;
      if (processes > 1) args.push('--processes', String(processes));
      // gRPC only when asked for, on the port given: never on the default fixed port, which another gateway may hold.
      // From the environment, not a flag: a --baseline checkout from before gRPC ignores the variable.
      const grpcPort = ctx.grpcPort ?? 0;
      const env = { ...process.env, INFERGATE_GRPC_PORT: String(grpcPort) };
      const { handle } = await ctx.processes.start('gateway', process.execPath, args, { ready: /gateway ready/, readyTimeoutMs: ctx.readyTimeoutMs, env });
      const port = /listening on http:\/\/[^\s]+?:(\d+)/.exec(handle.output())?.[1];
      if (!port) {
        await handle.stop();
        throw new Error(`gateway: no "listening on" line in its output:\n${handle.output()}`);
      }
      const origin = `http://127.0.0.1:${port}`;
      const signature = await kserveSignature(origin, ctx.model, ctx.requestHeaders);
      const roots = [{ role: 'gateway', pid: handle.pid, childRole: 'workers', peerCmdline: GATEWAY_CMDLINE }];
      return { name: 'gateway', origin, inferPath: kservePath(ctx.model), format: 'json', replicas: ctx.replicas, processes, ...(grpcPort > 0 && { grpcAddress: `127.0.0.1:${grpcPort}` }), signature, roots, stop: () => handle.stop() };
    },
  },
  nginx: {
    summary: 'NGINX least_conn over N standalone workers, KServe v2 JSON',
    unavailable: (env) => (findNginx(env) ? null : 'nginx is not installed (apt-get install nginx, or set NGINX_BIN)'),
    start: async (ctx) => {
      const bin = findNginx()!;
      const workers: Awaited<ReturnType<typeof startWorker>>[] = [];
      const stopWorkers = (): Promise<unknown> => Promise.all(workers.map((w) => w.handle.stop()));
      try {
        for (let i = 0; i < ctx.replicas; i++) workers.push(await startWorker(ctx, `nginx-worker-${i}`));
        const signature = await workerSignature(workers[0]!.origin, ctx.model);
        const prefixDir = join(ctx.tmpDir, `nginx-${Date.now()}`);
        mkdirSync(prefixDir, { recursive: true, mode: 0o755 });
        const port = await freePort();
        const config = nginxConfig({
          prefixDir,
          port,
          upstreams: workers.map((w) => ({ host: '127.0.0.1', port: w.port })),
          user: process.getuid?.() === 0 ? 'root' : undefined,
        });
        writeFileSync(join(prefixDir, 'nginx.conf'), config);
        const args = ['-p', prefixDir, '-c', join(prefixDir, 'nginx.conf'), '-e', join(prefixDir, 'error.log')];
        const { handle } = await ctx.processes.start('nginx', bin, args, { readyTimeoutMs: ctx.readyTimeoutMs });
        await waitForPort('127.0.0.1', port, 10_000, () => handle.running).catch(async (err: Error) => {
          await handle.stop();
          throw new Error(`nginx: ${err.message}\n${handle.output()}`);
        });
        const origin = `http://127.0.0.1:${port}`;
        const stop = async (): Promise<void> => {
          await handle.stop();
          await stopWorkers();
        };
        const roots = [{ role: 'nginx', pid: handle.pid }, ...workers.map((w) => ({ role: 'workers', pid: w.handle.pid }))];
        return { name: 'nginx', origin, inferPath: kservePath(ctx.model), format: 'json', replicas: ctx.replicas, signature, roots, stop };
      } catch (err) {
        await stopWorkers();
        throw err;
      }
    },
  },
  hello: {
    summary: 'trivial node:http server (load generator ceiling)',
    unavailable: () => null,
    start: async (ctx) => {
      const script = join(ctx.root, 'benchmarks', 'lib', 'hello-server.ts');
      const { handle, match } = await ctx.processes.start('hello', process.execPath, [script, '--port', '0'], { ready: /listening on (http:\/\/\S+)/, readyTimeoutMs: ctx.readyTimeoutMs });
      return { name: 'hello', origin: match![1]!, inferPath: kservePath(ctx.model), format: 'json', replicas: 1, signature: null, roots: [{ role: 'hello', pid: handle.pid }], stop: () => handle.stop() };
    },
  },
  baseline: {
    summary: 'the gateway from the --baseline checkout, started exactly as gateway is',
    unavailable: () => null,
    start: async (ctx) => {
      if (ctx.baselineRoot === undefined) throw new Error('the system baseline needs --baseline <dir>');
      // gateway's own start with the other checkout as the root: the same flags, models dir, config overlay and replicas.
      return { ...(await SYSTEMS.gateway.start({ ...ctx, root: ctx.baselineRoot })), name: 'baseline' };
    },
  },
};

type StartedWorker = { handle: ChildProcessHandle; origin: string; port: number };

async function startWorker(ctx: SystemContext, name: string): Promise<StartedWorker> {
  const args = [
    join(ctx.root, 'bin', 'infergate.ts'), 'worker',
    ...workerArgv({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      modelsDir: ctx.modelsDir,
      models: [{ name: ctx.model }],
      session: { intraOpThreads: 1, interOpThreads: 1 },
    }),
  ];
  const { handle, match } = await ctx.processes.start(name, process.execPath, args, { ready: /listening on (?:http:\/\/)?([\d.]+):(\d+)/, readyTimeoutMs: ctx.readyTimeoutMs });
  const port = Number(match![2]);
  return { handle, port, origin: `http://127.0.0.1:${port}` };
}

/** The highest version of `model` from a worker's GET /models. */
async function workerSignature(origin: string, model: string): Promise<ModelSignature> {
  const body = (await getJson(`${origin}/models`)) as WorkerModelsBody;
  const latest = latestVersion(body.models.filter((m) => m.name === model));
  if (!latest) throw new Error(`the worker at ${origin} does not serve model ${model}`);
  return latest;
}

/** The model's signature from KServe v2 metadata (GET /v2/models/{m}). */
async function kserveSignature(origin: string, model: string, headers?: Record<string, string>): Promise<ModelSignature> {
  const body = (await getJson(`${origin}/v2/models/${encodeURIComponent(model)}`, headers)) as Omit<ModelSignature, 'version' | 'fingerprint'> & { versions?: string[] };
  const version = latestVersion(body.versions ?? ['1'])!;
  // KServe metadata does not name the model file; the benchmark only needs the tensors.
  return { name: body.name, version, inputs: body.inputs, outputs: body.outputs, fingerprint: '' };
}

async function getJson(url: string, headers?: Record<string, string>): Promise<unknown> {
  const res = await fetch(url, headers === undefined ? undefined : { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}
