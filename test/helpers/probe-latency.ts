// Latency probes from their own process: a health check and a small
// inference, each sent every intervalMs until this process's stdin closes;
// then it prints {health, infer, failures} (latencies in ms) as JSON. Kept
// apart from the test process, whose instrumentation and other work would
// otherwise show up as the gateway's latency.
//
//   node probe-latency.ts '{"origin": "http://127.0.0.1:8000", "intervalMs": 20, "inferPath": …, "inferBody": …}'

import { request } from 'node:http';

export type ProbeOptions = { origin: string; intervalMs: number; inferPath: string; inferBody: string };
export type ProbeResult = { health: number[]; infer: number[]; failures: string[] };

const options = JSON.parse(process.argv[2]!) as ProbeOptions;
const result: ProbeResult = { health: [], infer: [], failures: [] };
let running = true;

function send(path: string, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const req = request(`${options.origin}${path}`, { method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function loop(path: string, body: string | undefined, into: number[]): Promise<void> {
  while (running) {
    const started = performance.now();
    try {
      const answer = await send(path, body);
      if (answer.status !== 200) result.failures.push(`${path}: ${answer.status} ${answer.text.slice(0, 200)}`);
    } catch (err) {
      result.failures.push(`${path}: ${(err as Error).message}`);
    }
    into.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

const loops = [loop('/v2/health/live', undefined, result.health), loop(options.inferPath, options.inferBody, result.infer)];
process.stdin.resume();
process.stdin.once('end', async () => {
  running = false;
  await Promise.all(loops);
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
});
