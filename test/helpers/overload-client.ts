// The load generator of the overload chaos test, run as its own process
// (`node test/helpers/overload-client.ts '<json options>'`): an open loop of
// heavy-model requests with a client deadline, every answer sorted into
// admitted (200, a whole KServe answer or counted malformed), shed (429, or
// 503 GW_ERR_OVERLOADED / GW_ERR_QUEUE_FULL, with or without Retry-After) and
// anything else by "status code". Prints one JSON OverloadPhase on stdout.

import { createBodySource } from '../../benchmarks/lib/bodies.ts';
import { runOpenLoop, type OpenLoopAnswer } from '../../benchmarks/lib/open-loop.ts';
import { Recorder } from '../../benchmarks/lib/recorder.ts';
import type { RunSummary } from '../../benchmarks/lib/results.ts';

export type OverloadClientOptions = { origin: string; path: string; ratePerS: number; durationS: number; connections: number; deadlineMs: number; seed: number };

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
      if (output?.name !== 'logits' || output.shape?.join() !== '1,10') this.malformed++;
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

if (import.meta.main) {
  const o = JSON.parse(process.argv[2]!) as OverloadClientOptions;
  const bodies = createBodySource({ format: 'json', model: 'heavy', version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 512] }], rows: 1, mode: 64, seed: o.seed });
  const all = new Recorder();
  const tally = new Tally();
  for (const r of [tally.admitted, tally.admittedFromDue, tally.shed]) r.start();
  await runOpenLoop({
    origin: o.origin,
    path: o.path,
    headers: { 'content-type': bodies.contentType, 'x-infergate-timeout-ms': String(o.deadlineMs) },
    body: () => bodies.next(),
    load: { mode: 'open', ratePerS: o.ratePerS, arrivals: 'constant', connections: o.connections, durationS: o.durationS },
    recorder: all,
    timeoutMs: 10_000,
    onAnswer: (answer) => tally.add(answer),
  });
  for (const r of [tally.admitted, tally.admittedFromDue, tally.shed]) r.close();
  const cpu = process.cpuUsage();
  const phase: OverloadPhase = {
    all: all.summary(),
    admitted: tally.admitted.summary(),
    admittedFromDue: tally.admittedFromDue.summary(),
    shed: tally.shed.summary(),
    shedWithoutRetryAfter: tally.shedWithoutRetryAfter,
    malformed: tally.malformed,
    other: tally.other,
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(JSON.stringify(phase));
}
