// Micro-benchmark of the access gate's cost per request (not run by tap):
//
//   node benchmarks/micro/access-gate.ts
//
// One admit of an inference request with an API key, among 1000 keys: the
// key read from its header, its SHA-256, the lookup, the scope and model
// checks; then the same with a per-key limit in the local store. Prints the
// median of several rounds, in µs per admit.

import { AccessGate } from '../../gateway/access/access-gate.ts';
import { KeyTable, keyDigest } from '../../gateway/access/api-keys.ts';
import { LocalLimiter } from '../../gateway/ratelimit/local-limiter.ts';
import type { ApiKeyEntry } from '../../config/auth-schema.ts';

const KEYS = 1000;
const ITERATIONS = 200_000;
const ROUNDS = 7;

const entries: ApiKeyEntry[] = Array.from({ length: KEYS }, (_, i) => ({ name: `key-${i}`, sha256: keyDigest(`secret-${i}`), models: ['class*'], operations: ['infer', 'metadata'] }));
const table = new KeyTable(entries);
const cases: Array<[string, AccessGate]> = [
  ['keys, no limit', new AccessGate({ auth: { mode: 'keys' }, keys: () => table, adminToken: undefined, limiter: undefined, perKey: undefined, perAddress: undefined })],
  ['keys, local limit', new AccessGate({ auth: { mode: 'keys' }, keys: () => table, adminToken: 'an-admin-token-too', limiter: new LocalLimiter(), perKey: { requestsPerSecond: 1e9 }, perAddress: undefined })],
];
for (const [name, gate] of cases) {
  const perAdmit: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) gate.admit({ authorization: `Bearer secret-${i % KEYS}`, apiKey: undefined, remoteAddress: '127.0.0.1' }, { operation: 'infer', model: 'classifier' });
    perAdmit.push(Number(process.hrtime.bigint() - start) / ITERATIONS / 1000);
  }
  console.log(`${name.padEnd(20)} ${perAdmit.sort((a, b) => a - b)[ROUNDS >> 1]!.toFixed(2)} µs per admit`);
}
