// The API keys the gateway knows, looked up by the SHA-256 of what a client
// presents: a key is never held in clear, and a lookup by digest takes the
// same time whether a guess is close or not (a hash-map probe on a digest
// the caller cannot steer). Pure: key-source.ts reads the entries from the
// keys file or Redis and builds a new table when they change.

import { createHash } from 'node:crypto';
import type { ApiKeyEntry, Operation, RateLimitConfig } from '../../config/auth-schema.ts';

export type ApiKey = {
  readonly name: string;
  readonly operations: ReadonlySet<Operation>;
  /** Whether the key may call this model (its names and globs). */
  mayCall(model: string): boolean;
  /** Whether its globs cover every model: only such a key may read what lists them all (metrics, all-model statistics). */
  readonly everyModel: boolean;
  readonly rateLimit: RateLimitConfig | undefined;
};

export class KeyTable {
  readonly #byDigest: ReadonlyMap<string, ApiKey>;

  constructor(entries: readonly ApiKeyEntry[]) {
    this.#byDigest = new Map(entries.map((entry) => [entry.sha256, apiKeyOf(entry)]));
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /** The key whose digest is the presented text's, or undefined. */
  find(presented: string): ApiKey | undefined {
    return this.#byDigest.get(keyDigest(presented));
  }

  /** The key of this hex digest (keyDigest's), for a caller that has it already. */
  byDigest(digest: string): ApiKey | undefined {
    return this.#byDigest.get(digest);
  }
}

/** The hex SHA-256 of a key, as the keys file lists it. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function apiKeyOf(entry: ApiKeyEntry): ApiKey {
  const patterns = entry.models.map(globPattern);
  return {
    name: entry.name,
    operations: new Set(entry.operations),
    mayCall: (model) => patterns.some((pattern) => pattern.test(model)),
    everyModel: entry.models.includes('*'),
    rateLimit: entry.rateLimit,
  };
}

/** A model glob as an anchored RegExp: "*" any run of characters, "?" one; everything else literal. */
export function globPattern(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's');
}

/**
 * The key a request presents: `x-api-key`, or `Authorization: Bearer <key>`, or the password of
 * `Authorization: Basic` (a browser can send only that, e.g. on the status page). Undefined: none.
 */
export function presentedKey(authorization: string | undefined, apiKeyHeader: string | undefined): string | undefined {
  if (apiKeyHeader !== undefined && apiKeyHeader !== '') return apiKeyHeader.trim();
  if (authorization === undefined) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer !== undefined) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization)?.[1];
  if (basic === undefined) return undefined;
  const credentials = Buffer.from(basic, 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  return colon === -1 ? undefined : credentials.slice(colon + 1);
}
