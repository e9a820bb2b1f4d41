// The batching scenario's in-process reference: what ONE onnxruntime-node
// session does on its own — the model file a gateway's worker loads, with the
// session options the scenario gives it (the workers' options, with as many
// intra-op threads as the workers have together) — at batch 1 and at batch
// 32, with no HTTP, no JSON, no queue. A gateway's req/s next to it says what
// the serving path costs; batch 32 says what a full batch can reach.
//
// The session runs in a child process (this file run as a script), so it
// never shares the harness's event loop or its load generator's time slices:
//
//   harness ──spawn──▶ node in-process-reference.ts '<settings as JSON>'
//                        per batch size: warm-up runs, then session.run() back
//                        to back for durationS over a pool of seeded FP32 inputs
//           ◀─stdout── one JSON line: runs/s, rows/s, p50/p99 per batch size

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { latestVersion } from '../../common/model-repository.ts';
import { mulberry32 } from '../../common/prng.ts';
import type { WorkerSessionOptions } from '../../common/worker-options.ts';
import { configSchema } from '../../config/schema.ts';

export type ReferenceSettings = {
  modelFile: string;
  batchSizes: number[];
  /** Seconds of back-to-back runs per batch size. */
  durationS: number;
  /** Untimed runs per batch size first (onnxruntime allocates and plans on a session's first runs). */
  warmupRuns: number;
  session: WorkerSessionOptions;
  seed: number;
};

export type BatchThroughput = { batch: number; runs: number; elapsedS: number; runsPerS: number; rowsPerS: number; p50Ms: number; p99Ms: number };

/** One sample of the reference: where it ran from and what each batch size reached. */
export type InProcessReference = {
  modelFile: string;
  intraOpThreads: number | null;
  interOpThreads: number | null;
  durationS: number;
  seed: number;
  batches: BatchThroughput[];
};

/** Distinct inputs per batch size, cycled through: the session sees changing data without generating any in the timed loop. */
const INPUT_POOL = 8;

/**
 * The session options the gateway gives its workers under `gatewayConfig`
 * (the overlay the harness starts it with; everything else at the schema's
 * defaults, as the gateway reads it).
 */
export function workerSessionOptions(gatewayConfig: Record<string, unknown>): WorkerSessionOptions {
  return configSchema.parse(gatewayConfig).workers.sessionOptions;
}

/** The file a request naming no version runs on: <modelsDir>/<model>/<latest version>/model.onnx. */
export function latestModelFile(modelsDir: string, model: string): string {
  const dir = join(modelsDir, model);
  const versions = existsSync(dir) ? readdirSync(dir).filter((v) => /^\d+$/.test(v) && existsSync(join(dir, v, 'model.onnx'))) : [];
  const version = latestVersion(versions);
  if (version === undefined) throw new Error(`no <version>/model.onnx under ${dir}`);
  return join(dir, version, 'model.onnx');
}

/** Runs the reference in a child process; rejects with its stderr when it fails. Killed when `signal` aborts. */
export function measureInProcess(settings: ReferenceSettings, signal?: AbortSignal): Promise<InProcessReference> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal && { signal }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c).slice(-4_000)));
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as InProcessReference);
      else reject(new Error(`in-process reference (${settings.modelFile}) exited ${code ?? sig}: ${stderr.trim() || stdout.trim()}`));
    });
  });
}

/** The child's work: one session, each batch size in turn. */
export async function runReference(settings: ReferenceSettings): Promise<InProcessReference> {
  // Loaded here only: the harness process that imports this file never loads onnxruntime.
  const ort = await import('onnxruntime-node');
  const { toOrtSessionOptions } = await import('../../worker/load-version.ts');
  const session = await ort.InferenceSession.create(settings.modelFile, toOrtSessionOptions(settings.session));
  const outputs = session.outputNames;
  const random = mulberry32(settings.seed);
  const batches: BatchThroughput[] = [];
  try {
    for (const batch of settings.batchSizes) {
      const pool = Array.from({ length: INPUT_POOL }, () => {
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
        for (const input of session.inputMetadata) {
          if (!input.isTensor || input.type !== 'float32') throw new Error(`input ${input.name} is not a float32 tensor: the reference feeds random FP32 only`);
          // The first axis is the batch; any other symbolic axis is taken as 1.
          const dims = input.shape.map((d, i) => (i === 0 ? batch : typeof d === 'number' && d > 0 ? d : 1));
          const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
          for (let k = 0; k < data.length; k++) data[k] = random() * 2 - 1;
          feeds[input.name] = new ort.Tensor('float32', data, dims);
        }
        return feeds;
      });
      for (let i = 0; i < settings.warmupRuns; i++) await session.run(pool[i % INPUT_POOL]!, outputs);
      const latenciesMs: number[] = [];
      const start = performance.now();
      const end = start + settings.durationS * 1000;
      for (let now = start; now < end; ) {
        await session.run(pool[latenciesMs.length % INPUT_POOL]!, outputs);
        const after = performance.now();
        latenciesMs.push(after - now);
        now = after;
      }
      const elapsedS = (performance.now() - start) / 1000;
      latenciesMs.sort((a, b) => a - b);
      const runs = latenciesMs.length;
      const at = (q: number): number => latenciesMs[Math.min(runs - 1, Math.floor(q * runs))] ?? 0;
      batches.push({ batch, runs, elapsedS, runsPerS: runs / elapsedS, rowsPerS: (runs * batch) / elapsedS, p50Ms: at(0.5), p99Ms: at(0.99) });
    }
  } finally {
    await session.release();
  }
  const { intraOpThreads, interOpThreads } = settings.session;
  return { modelFile: settings.modelFile, intraOpThreads: intraOpThreads ?? null, interOpThreads: interOpThreads ?? null, durationS: settings.durationS, seed: settings.seed, batches };
}

if (import.meta.main) {
  const settings = JSON.parse(process.argv[2] ?? '{}') as ReferenceSettings;
  process.stdout.write(`${JSON.stringify(await runReference(settings))}\n`);
}
