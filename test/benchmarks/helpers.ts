// Shared by the benchmark tests: start a fixture server as its own process
// (so a stalling server never shares the load generator's event loop), and
// stop it at teardown.

import { join } from 'node:path';
import { ProcessGroup } from '../../benchmarks/lib/processes.ts';

type Teardown = { teardown(fn: () => unknown): void };

/** Starts test/benchmarks/fixtures/<file> with `args`; resolves to its origin (http://127.0.0.1:PORT). */
export async function startFixture(t: Teardown, file: string, args: string[] = []): Promise<string> {
  const processes = new ProcessGroup();
  t.teardown(() => processes.stopAll());
  const { match } = await processes.start(file, process.execPath, [join(import.meta.dirname, 'fixtures', file), ...args], {
    ready: /listening on (http:\/\/\S+)/,
    readyTimeoutMs: 30_000,
  });
  return match![1]!;
}
