// The result cache's table of flights must not keep finished requests alive
// into V8's old generation. A Map churned by insert/delete leaves stale tables
// that hold every entry and point at their successor; once one is old (always
// after a major GC) every flight, with all its request references, survives
// two scavenges and is promoted — ~15 MB/s of dead requests in a gateway soak
// (common/slot-map.ts). Measured in a child process: old-space growth per
// request while 64 requests are always in flight, each holding ~8 KB.

import { execFileSync } from 'node:child_process';
import t from 'tap';

const PROBE_ENV = 'INFERGATE_FLIGHT_PROMOTION_PROBE';

async function probe(): Promise<void> {
  const { getHeapSpaceStatistics } = await import('node:v8');
  const { ResultCache } = await import('../../../gateway/cache/result-cache.ts');
  const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
  const cache = new ResultCache<number[]>({
    tiers: [],
    keyPrefix: 'p',
    policyFor: () => ({ enabled: true, ttlSeconds: 60, maxEntryBytes: 1 << 20 }),
    codec: { toBytes: () => new Uint8Array(0), fromBytes: () => [] },
  });
  // A request's state (~8 KB on the heap): what its flight keeps reachable.
  const request = (i: number) => () => new Promise<number[]>((resolve) => setImmediate(() => resolve(new Array(1024).fill(i))));
  // One flight, then a major GC: the table is in the old generation, as in a gateway after its first major GC.
  await cache.getOrCompute('m', 'warm', false, request(0));
  (globalThis as { gc?: () => void }).gc!();
  let grown = 0;
  let last = oldUsed();
  let n = 0;
  const lanes = Array.from({ length: 64 }, async () => {
    while (n < 60_000) {
      const i = n++;
      await cache.getOrCompute('m', `key-${i}`, false, request(i));
      const now = oldUsed();
      if (now > last) grown += now - last;
      last = now;
    }
  });
  await Promise.all(lanes);
  process.stdout.write(JSON.stringify({ bytesPerRequest: grown / n }));
}

if (process.env[PROBE_ENV]) {
  await probe();
} else {
  t.test('finished flights are not promoted with the table of flights', async (t) => {
    const out = execFileSync(process.execPath, ['--expose-gc', import.meta.filename], { env: { ...process.env, [PROBE_ENV]: '1' }, encoding: 'utf8' });
    const { bytesPerRequest } = JSON.parse(out) as { bytesPerRequest: number };
    // Each request holds ~8 KB (a 1,024-element array) and its promises: promoted, that is > 8,000 bytes per request.
    // What may reach the old generation is the table's keys and slot numbers (measured ~100 bytes).
    t.ok(bytesPerRequest < 1_000, `old-space growth ${bytesPerRequest.toFixed(0)} bytes per request`);
  });
}
