// The load generator of the overload chaos test, run as its own process
// (`node test/helpers/overload-client.ts '<json options>'`): an open loop of
// requests of `rows` rows to one model, with a client deadline, every answer
// sorted into admitted (200, a whole KServe answer or counted malformed),
// shed (429, or 503 GW_ERR_OVERLOADED / GW_ERR_QUEUE_FULL, with or without
// Retry-After) and anything else by "status code". Prints one JSON
// OverloadPhase on stdout.
// With `closedClients` it runs a closed loop of that many clients instead
// (no client deadline) and prints a CapacityPhase: the capacity measurement,
// free of the test process's own lag.

import { createBodySource, type BodySource } from '../../benchmarks/lib/bodies.ts';
import { runOpenLoop, type OpenLoopAnswer } from '../../benchmarks/lib/open-loop.ts';
import { Recorder } from '../../benchmarks/lib/recorder.ts';
import { runClosedLoop } from './closed-loop.ts';
import type { RunSummary } from '../../benchmarks/lib/results.ts';

export type OverloadClientOptions = {
  origin: string;
  model: string;
  /** The model's one FP32 input, [-1, inputWidth], and the output every 200 must carry, [rows, output.width]. */
  inputWidth: number;
  output: { name: string; width: number };
  rows: number;
  ratePerS: number;
  durationS: number;
  connections: number;
  deadlineMs: number;
  seed: number;
  warmupS?: number;
  /** A closed loop of this many clients instead of the open loop (ratePerS, connections and deadlineMs unused). */
  closedClients?: number;
};

/** How long a closed-loop client waits after an answer other than 200. */
const REFUSAL_PAUSE_MS = 20;

export type CapacityPhase = { ok: number; other: number; elapsedS: number; cpuS: number };

export type OverloadPhase = {
  all: RunSummary;
  /** Latency from the moment each request was handed to the client pool. */
  admitted: RunSummary;
  /** The same answers, latency from the intended send time. */
  admittedFromDue: RunSummary;
  shed: RunSummary;
  shedWithoutRetryAfter: number;
  malformed: number;
  other: Record<string, number>;
  /** CPU seconds this load generator used. */
  cpuS: number;
};

const SHED_CODES = new Set(['GW_ERR_OVERLOADED', 'GW_ERR_QUEUE_FULL']);

class Tally {
  readonly #expectedOutput: { name: string; shape: string };
  constructor(output: { name: string; width: number }, rows: number) {
    this.#expectedOutput = { name: output.name, shape: `${rows},${output.width}` };
  }

  readonly admitted = new Recorder();
  readonly admittedFromDue = new Recorder();
  readonly shed = new Recorder();
  shedWithoutRetryAfter = 0;
  malformed = 0;
  readonly other: Record<string, number> = {};

  add(answer: OpenLoopAnswer): void {
    const body = parse(answer.body);
    if (answer.statusCode === 200) {
      const output = (body as { outputs?: Array<{ name?: string; shape?: number[] }> } | null)?.outputs?.[0];
      if (output?.name !== this.#expectedOutput.name || output.shape?.join() !== this.#expectedOutput.shape) this.malformed++;
      this.admitted.response(200, answer.sentLatencyMs, answer.body.byteLength);
      this.admittedFromDue.response(200, answer.latencyMs, answer.body.byteLength);
      return;
    }
    const code = (body as { code?: string } | null)?.code ?? '';
    if (answer.statusCode === 429 || (answer.statusCode === 503 && SHED_CODES.has(code))) {
      if (answer.headers['retry-after'] === undefined) this.shedWithoutRetryAfter++;
      this.shed.response(answer.statusCode, answer.sentLatencyMs, answer.body.byteLength);
      return;
    }
    const key = `${answer.statusCode} ${code}`;
    this.other[key] = (this.other[key] ?? 0) + 1;
  }
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}

/** Answers per status of a closed loop: warm-up first, then `durationS` measured. */
async function closedLoop(o: OverloadClientOptions, clients: number, bodies: BodySource): Promise<CapacityPhase> {
  const run = async (durationS: number): Promise<Omit<CapacityPhase, 'cpuS'>> => {
    const counts = { ok: 0, other: 0 };
    const startMs = performance.now();
    await runClosedLoop({
      origin: o.origin,
      path: `/v2/models/${o.model}/infer`,
      headers: { 'content-type': bodies.contentType },
      body: () => bodies.next(),
      concurrency: clients,
      // A refused client backs off for a while (as one honoring Retry-After would, shortened) rather than
      // spinning on refusals that would take the machine's CPU from the worker being measured.
      onOutcome: (outcome) => (outcome.kind === 'answer' && outcome.statusCode === 200 ? (counts.ok++, 'continue') : (counts.other++, { pauseMs: REFUSAL_PAUSE_MS })),
      signal: AbortSignal.timeout(durationS * 1000),
      timeoutMs: 10_000,
    });
    return { ...counts, elapsedS: (performance.now() - startMs) / 1000 };
  };
  if (o.warmupS) await run(o.warmupS);
  return { ...(await run(o.durationS)), cpuS: cpuSeconds() };
}

async function openLoop(o: OverloadClientOptions, bodies: BodySource): Promise<OverloadPhase> {
  const all = new Recorder();
  const tally = new Tally(o.output, o.rows);
  for (const r of [tally.admitted, tally.admittedFromDue, tally.shed]) r.start();
  await runOpenLoop({
    origin: o.origin,
    path: `/v2/models/${o.model}/infer`,
    headers: { 'content-type': bodies.contentType, 'x-infergate-timeout-ms': String(o.deadlineMs) },
    body: () => bodies.next(),
    load: { mode: 'open', ratePerS: o.ratePerS, arrivals: 'constant', connections: o.connections, durationS: o.durationS },
    recorder: all,
    timeoutMs: 10_000,
    onAnswer: (answer) => tally.add(answer),
    warmupS: o.warmupS,
  });
  for (const r of [tally.admitted, tally.admittedFromDue, tally.shed]) r.close();
  return {
    all: all.summary(),
    admitted: tally.admitted.summary(),
    admittedFromDue: tally.admittedFromDue.summary(),
    shed: tally.shed.summary(),
    shedWithoutRetryAfter: tally.shedWithoutRetryAfter,
    malformed: tally.malformed,
    other: tally.other,
    cpuS: cpuSeconds(),
  };
}

function cpuSeconds(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
}

if (import.meta.main) {
  const o = JSON.parse(process.argv[2]!) as OverloadClientOptions;
  const bodies = createBodySource({ format: 'json', model: o.model, version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, o.inputWidth] }], rows: o.rows, mode: 64, seed: o.seed });
  const result = o.closedClients ? await closedLoop(o, o.closedClients, bodies) : await openLoop(o, bodies);
  process.stdout.write(JSON.stringify(result));
}
