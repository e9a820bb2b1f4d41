// Load on one target: the closed or open loop that fits its bodies (HTTP, or
// gRPC for gRPC bodies) recording into one Recorder; a single request, and
// the harness's two uses of it: the check before a load, and the settle after
// an overloaded capacity probe.

import { runClosedLoop } from './closed-loop.ts';
import { grpcSingle } from './grpc-channels.ts';
import { runGrpcClosedLoop, runGrpcOpenLoop } from './grpc-loop.ts';
import type { MeasureExtras, Target } from './harness.ts';
import { runOpenLoop } from './open-loop.ts';
import type { ProgressLine } from './progress.ts';
import { Recorder } from './recorder.ts';
import type { LoadSpec, RunSummary } from './results.ts';

/** One load's setting: its progress label, the per-request timeout, and what the loops share. */
export type LoadRun = { label: string; timeoutMs: number; progress: ProgressLine; signal: AbortSignal; seed: number; grpcCallsPerChannel: number };

export type SingleAnswer = { status: number; text: string; ms: number; binaryAnswer: boolean };

export async function loadTarget(target: Target, load: LoadSpec, run: LoadRun, extras: MeasureExtras = {}): Promise<RunSummary> {
  const { label, timeoutMs, progress, signal } = run;
  const { system, bodies } = target;
  const recorder = new Recorder();
  const common = { origin: system.origin, path: system.inferPath, headers: bodies.headers, recorder, timeoutMs, signal };
  progress.start(label, load.mode === 'closed' && load.amount ? 0 : load.durationS, () => recorder.live());
  let alongside: Promise<void> = Promise.resolve();
  const onStart = (startMs: number): void => {
    if (extras.alongside) alongside = extras.alongside(startMs);
  };
  try {
    if (bodies.description.format === 'grpc-raw') {
      if (extras.observe || extras.answerVersions) throw new Error('the gRPC loops do not report answers one by one (observe, answerVersions)');
      const grpc = { address: grpcAddress(target), recorder, timeoutMs, signal, callsPerChannel: run.grpcCallsPerChannel };
      if (load.mode === 'closed') {
        onStart(performance.now());
        await runGrpcClosedLoop({ ...grpc, bodies, load });
      } else await runGrpcOpenLoop({ ...grpc, body: () => bodies.next() as Buffer, load, seed: run.seed, onStart });
    } else if (load.mode === 'closed') {
      onStart(performance.now());
      await runClosedLoop({ ...common, bodies, load });
    } else await runOpenLoop({ ...common, body: () => bodies.next(), load, seed: run.seed, onStart, observe: extras.observe, answerVersions: extras.answerVersions });
  } finally {
    progress.stop();
    await alongside;
  }
  return recorder.summary();
}

/** One request; `binaryAnswer`: its outputs came back raw (gRPC raw_output_contents, or the binary extension's header). */
export async function singleRequest(target: Target, body: string | Buffer, timeoutMs: number): Promise<SingleAnswer> {
  const { system, bodies } = target;
  if (bodies.description.format === 'grpc-raw') {
    const { status, text, ms, answer } = await grpcSingle(grpcAddress(target), body as Buffer, timeoutMs);
    return { status, text, ms, binaryAnswer: (answer?.raw_output_contents.length ?? 0) > 0 };
  }
  const started = performance.now();
  const res = await fetch(`${system.origin}${system.inferPath}`, { method: 'POST', headers: bodies.headers, body });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started, binaryAnswer: res.headers.has('inference-header-content-length') };
}

export function grpcAddress(target: Target): string {
  if (target.system.grpcAddress === undefined) throw new Error(`${target.label}: ${target.system.name} serves no gRPC (start it with the setting grpc: true)`);
  return target.system.grpcAddress;
}

/** One request before any load: a system that cannot answer fails fast with its answer in the message. */
export async function checkAnswers(target: Target, timeoutMs: number): Promise<void> {
  const { status, text, binaryAnswer } = await singleRequest(target, target.bodies.next(), timeoutMs);
  const format = target.bodies.description.format;
  const call = format === 'grpc-raw' ? `gRPC ModelInfer at ${grpcAddress(target)}` : `POST ${target.system.inferPath}`;
  if (status < 200 || status >= 300) throw new Error(`${call} answered ${status}: ${text.slice(0, 300)}`);
  // Binary in, binary out: a typed or JSON answer would measure another path than the one named.
  if ((format === 'grpc-raw' || format === 'kserve-binary') && !binaryAnswer) throw new Error(`${call} answered without binary outputs: ${text.slice(0, 300)}`);
}

/** After an overloaded probe: wait (≤ 15 s) until a lone request is answered within the SLO again. */
export async function settle(target: Target, options: { timeoutMs: number; sloP99Ms: number; aborted: () => boolean }): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !options.aborted()) {
    const answer = await singleRequest(target, target.bodies.next(), options.timeoutMs).catch(() => null);
    if (answer && answer.ms <= options.sloP99Ms) return;
    await sleep(200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
