// `infergate key <name>`: makes a new API key and prints it once, with the
// entry to paste into the keys file (or the value to HSET into Redis). The
// gateway only ever holds the key's digest.

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { apiKeyEntrySchema, type ApiKeyEntry } from '../../config/auth-schema.ts';
import { keyDigest } from './api-keys.ts';

/** 32 random bytes, base64url: 256 bits a prober cannot guess, and no character that needs quoting in a header. */
export function newApiKey(): string {
  return `ig_${randomBytes(32).toString('base64url')}`;
}

const USAGE = 'usage: infergate key <name> [--models m1,m2*] [--operations infer,metadata,admin] [--requests-per-second n] [--burst n]\n';

/** Prints a new key and its entry; answers the process exit code. */
export function runNewKey(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { models: { type: 'string' }, operations: { type: 'string' }, 'requests-per-second': { type: 'string' }, burst: { type: 'string' } },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    err(USAGE);
    return 2;
  }
  const key = newApiKey();
  const list = (text: string | undefined) => text?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const rate = values['requests-per-second'];
  const candidate = {
    name: positionals[0],
    sha256: keyDigest(key),
    ...(values.models !== undefined ? { models: list(values.models) } : {}),
    ...(values.operations !== undefined ? { operations: list(values.operations) } : {}),
    ...(rate !== undefined ? { rateLimit: { requestsPerSecond: Number(rate), ...(values.burst !== undefined ? { burst: Number(values.burst) } : {}) } } : {}),
  };
  const result = apiKeyEntrySchema.safeParse(candidate);
  if (!result.success) {
    err(`${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')}\n`);
    return 2;
  }
  const entry: ApiKeyEntry = result.data;
  const { name, ...value } = entry;
  out(
    [
      `key (shown once, give it to ${name}): ${key}`,
      '',
      '# keys file (auth.keysFile), under `keys:`',
      stringify([entry]).trimEnd(),
      '',
      '# or in Redis (auth.keysFromRedis), with your cache.keyPrefix:',
      `HSET infergate:keys ${name} '${JSON.stringify(value)}'`,
      '',
    ].join('\n'),
  );
  return 0;
}
