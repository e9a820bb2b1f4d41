// Who may make a request, and whether they may make it now: every front
// (REST, gRPC, TF Serving) asks this gate once per request, before reading
// its body, with the credentials it carries and what it wants to do.
//
//   admin      server.adminToken, or (auth.mode keys) a key with the admin scope;
//              with neither configured, loopback clients only (admin-access.ts)
//   infer      auth.mode off: anyone, limited per client address (rateLimits.perAddress)
//   metadata   auth.mode keys: a known key whose operations and models allow it,
//              limited per key (its own rateLimit, else rateLimits.perKey);
//              server.adminToken passes too, unlimited
//
// A refusal never tells whether a model exists: the key's globs decide before
// the registry is asked, so a model a key may not see gets the same 403
// whether it is there or not. Rows (rowsPerSecond) are known only once the
// body is decoded: the admission carries a quota the infer service charges.

import { timingSafeEqual } from 'node:crypto';
import { InfergateError } from '../../common/errors.ts';
import type { AuthConfig, Operation, RateLimitConfig } from '../../config/auth-schema.ts';
import { RateLimitedError, type Decision, type Limit, type RateLimiter } from '../ratelimit/rate-limiter.ts';
import { adminAccess, type AdminAccess } from './admin-access.ts';
import { keyDigest, presentedKey, type ApiKey, type KeyTable } from './api-keys.ts';

export type Credentials = {
  /** The Authorization header (or gRPC metadata). */
  authorization: string | undefined;
  /** The x-api-key header (or gRPC metadata). */
  apiKey: string | undefined;
  remoteAddress: string | undefined;
};

/** What a request wants: an operation, on one model, or on every model at once (metrics, all-model statistics). */
export type AccessTarget = { operation: Operation; model?: string; everyModel?: boolean };

/** Charges a request's rows to its caller once they are known; throws GW_ERR_RATE_LIMITED when over. */
export type RowQuota = (rows: number) => void | Promise<void>;

export type Admission = {
  /** The key's name, or undefined for an anonymous caller or the admin token. */
  caller: string | undefined;
  /** The request bucket's state after this request, for the RateLimit-* headers; undefined: not limited. */
  decision: Decision | undefined;
  rows: RowQuota | undefined;
};

/** Why requests were refused (metrics labels): no credentials, a key nobody knows, a key without the scope or model, over a limit. */
export type Refusal = 'missing_credentials' | 'unknown_key' | 'forbidden' | 'rate_limited' | 'rows_rate_limited';

export type AccessGateDeps = {
  auth: Pick<AuthConfig, 'mode'>;
  /** The keys known now (key-source.ts swaps the table as the file or Redis changes). */
  keys: () => KeyTable | undefined;
  adminToken: string | undefined;
  /** Buckets; undefined when no limit is configured. */
  limiter: RateLimiter | undefined;
  perKey: RateLimitConfig | undefined;
  perAddress: RateLimitConfig | undefined;
};

const UNLIMITED: Admission = { caller: undefined, decision: undefined, rows: undefined };

export class AccessGate {
  readonly #deps: AccessGateDeps;
  readonly #keysMode: boolean;
  readonly #admin: AdminAccess;
  readonly #adminDigest: Buffer | undefined;
  readonly #refusals = new Map<Refusal, number>();

  constructor(deps: AccessGateDeps) {
    this.#deps = deps;
    this.#keysMode = deps.auth.mode === 'keys';
    this.#admin = adminAccess(deps.adminToken);
    this.#adminDigest = deps.adminToken === undefined ? undefined : Buffer.from(keyDigest(deps.adminToken), 'hex');
  }

  /** Whether data-plane requests are checked at all (keys, or a per-address limit): when not, a front may skip asking for them. */
  get checksDataPlane(): boolean {
    return this.#keysMode || (this.#deps.perAddress !== undefined && this.#deps.limiter !== undefined);
  }

  /** Requests refused so far, by reason. */
  refusals(): ReadonlyMap<Refusal, number> {
    return this.#refusals;
  }

  /** The caller's admission, or a thrown GW_ERR_UNAUTHORIZED, GW_ERR_FORBIDDEN, GW_ERR_RATE_LIMITED (a RateLimitedError) or, a shared store down with onStoreDown closed, GW_ERR_RATE_LIMIT_UNAVAILABLE. */
  admit(credentials: Credentials, target: AccessTarget): Admission | Promise<Admission> {
    if (!this.#keysMode) {
      if (target.operation === 'admin') return this.#adminOnly(credentials);
      const { perAddress } = this.#deps;
      const address = credentials.remoteAddress;
      if (perAddress === undefined || address === undefined) return UNLIMITED;
      return this.#limited(undefined, `address:${address}`, perAddress);
    }
    const presented = presentedKey(credentials.authorization, credentials.apiKey);
    if (presented === undefined) throw this.#refuse('missing_credentials', 'GW_ERR_UNAUTHORIZED', 'send an API key: Authorization: Bearer <key>, or x-api-key: <key>');
    // One digest per request: compared with the admin token's (constant time), then looked up among the keys.
    const digest = keyDigest(presented);
    if (this.#adminDigest !== undefined && timingSafeEqual(Buffer.from(digest, 'hex'), this.#adminDigest)) return UNLIMITED;
    const key = this.#deps.keys()?.byDigest(digest);
    if (key === undefined) throw this.#refuse('unknown_key', 'GW_ERR_UNAUTHORIZED', 'the API key presented is not known (or was revoked)');
    this.#authorize(key, target);
    const limit = target.operation === 'admin' ? undefined : (key.rateLimit ?? this.#deps.perKey);
    if (limit === undefined) return { caller: key.name, decision: undefined, rows: undefined };
    return this.#limited(key.name, `key:${key.name}`, limit);
  }

  /** auth.mode off: the admin routes' own rule (server.adminToken, or loopback only). */
  #adminOnly(credentials: Credentials): Admission {
    try {
      this.#admin(credentials.authorization, credentials.remoteAddress);
    } catch (err) {
      this.#count((err as InfergateError).code === 'GW_ERR_FORBIDDEN' ? 'forbidden' : 'missing_credentials');
      throw err;
    }
    return UNLIMITED;
  }

  #authorize(key: ApiKey, target: AccessTarget): void {
    if (!key.operations.has(target.operation)) {
      throw this.#refuse('forbidden', 'GW_ERR_FORBIDDEN', `API key "${key.name}" may not use ${target.operation} routes`);
    }
    // The same answer whether the model exists or not: the key's globs alone decide.
    if (target.model !== undefined && !key.mayCall(target.model)) {
      throw this.#refuse('forbidden', 'GW_ERR_FORBIDDEN', `API key "${key.name}" may not call this model`);
    }
    if (target.everyModel && !key.everyModel) {
      throw this.#refuse('forbidden', 'GW_ERR_FORBIDDEN', `API key "${key.name}" does not cover every model ("*"), which this route lists`);
    }
  }

  /** Takes one request from the caller's bucket; the admission carries the rows quota when the limit has one. */
  #limited(caller: string | undefined, bucket: string, config: RateLimitConfig): Admission | Promise<Admission> {
    const limiter = this.#deps.limiter;
    if (limiter === undefined) return UNLIMITED;
    const rows = config.rowsPerSecond === undefined ? undefined : this.#rowQuota(`rows:${bucket}`, rowsLimitOf(config));
    const decided = limiter.take(bucket, requestsLimitOf(config), 1);
    const admitted = (decision: Decision): Admission => {
      if (!decision.allowed) throw this.#limitedError('rate_limited', `over ${config.requestsPerSecond} requests/s for ${describe(caller, bucket)}`, decision);
      return { caller, decision, rows };
    };
    return decided instanceof Promise ? decided.then(admitted) : admitted(decided);
  }

  #rowQuota(bucket: string, limit: Limit): RowQuota {
    const limiter = this.#deps.limiter!;
    const checked = (decision: Decision): void => {
      if (!decision.allowed) throw this.#limitedError('rows_rate_limited', `over ${limit.ratePerSecond} rows/s for ${bucket.slice(5)}`, decision);
    };
    return (rows) => {
      // More rows than the bucket ever holds would be refused for ever: that is the request's size, not its rate.
      if (rows > limit.burst) throw new InfergateError('GW_ERR_REQUEST_TOO_LARGE', `${rows} rows > the caller's rowsBurst of ${limit.burst}`);
      const decided = limiter.take(bucket, limit, rows);
      return decided instanceof Promise ? decided.then(checked) : checked(decided);
    };
  }

  #limitedError(reason: Refusal, detail: string, decision: Decision): RateLimitedError {
    this.#count(reason);
    return new RateLimitedError(decision, detail);
  }

  #refuse(reason: Refusal, code: 'GW_ERR_UNAUTHORIZED' | 'GW_ERR_FORBIDDEN', detail: string): InfergateError {
    this.#count(reason);
    return new InfergateError(code, detail);
  }

  #count(reason: Refusal): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
  }
}

function requestsLimitOf(config: RateLimitConfig): Limit {
  return { ratePerSecond: config.requestsPerSecond, burst: config.burst ?? Math.ceil(config.requestsPerSecond) };
}

function rowsLimitOf(config: RateLimitConfig): Limit {
  const rate = config.rowsPerSecond!;
  return { ratePerSecond: rate, burst: config.rowsBurst ?? Math.ceil(rate) };
}

function describe(caller: string | undefined, bucket: string): string {
  return caller === undefined ? `client ${bucket.slice('address:'.length)}` : `API key "${caller}"`;
}
