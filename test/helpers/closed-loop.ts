// A closed loop for chaos tests: `concurrency` virtual clients, each sending
// its next request as soon as its previous one was answered or failed, on
// one undici Pool, until told to stop. Unlike benchmarks' closed loop
// (autocannon), it hands every outcome to the caller, with its headers and
// full body, so a test can count exactly what each request got; and it
// resolves only once every request it sent has settled.

import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

export type Outcome =
  | { kind: 'answer'; statusCode: number; headers: IncomingHttpHeaders; body: Buffer; latencyMs: number }
  /** No complete answer: `code` is the client error's code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, …). */
  | { kind: 'error'; code: string; latencyMs: number };

export type ClosedLoopOptions = {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: () => string | Buffer;
  concurrency: number;
  /**
   * Called with every outcome; a virtual client stops once this returns
   * 'stop' for one of its outcomes, and waits before its next request when
   * it returns { pauseMs } (a client backing off from a refusal).
   */
  onOutcome: (outcome: Outcome) => 'continue' | 'stop' | { pauseMs: number };
  /** Every virtual client stops sending once this is aborted. */
  signal: AbortSignal;
  timeoutMs: number;
};

export async function runClosedLoop(options: ClosedLoopOptions): Promise<void> {
  const pool = new Pool(options.origin, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
  });
  const client = async (): Promise<void> => {
    while (!options.signal.aborted) {
      const next = options.onOutcome(await send(pool, options));
      if (next === 'stop') return;
      if (typeof next === 'object') await new Promise((resolve) => setTimeout(resolve, next.pauseMs));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } finally {
    await pool.destroy().catch(() => {});
  }
}

async function send(pool: Pool, options: ClosedLoopOptions): Promise<Outcome> {
  const startMs = performance.now();
  try {
    const res = await pool.request({ path: options.path, method: 'POST', headers: options.headers, body: options.body() });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    return { kind: 'answer', statusCode: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), latencyMs: performance.now() - startMs };
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    return { kind: 'error', code: typeof code === 'string' ? code : String(err), latencyMs: performance.now() - startMs };
  }
}
