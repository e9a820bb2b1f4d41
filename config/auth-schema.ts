// The gateway config's `auth` and `rateLimits` sections, and the keys file
// they read (`auth.keysFile`, or the same entries in Redis): who may call
// the data plane, on which models and operations, and how fast.

import { z } from 'zod';
import { positiveInt } from './fields.ts';

/** A token bucket: `requestsPerSecond` refill, `burst` at most at once (default: one second's worth); optionally rows too. */
export const rateLimitSchema = z
  .object({
    requestsPerSecond: z.number().positive(),
    /** Requests that may arrive at once after a quiet spell; default: requestsPerSecond, rounded up. */
    burst: positiveInt().optional(),
    /** Rows of inference (a batch of 8 rows counts 8) per second; unset: rows are not limited. */
    rowsPerSecond: z.number().positive().optional(),
    /** Rows at once; default: rowsPerSecond, rounded up (at least the largest request's rows, or that request never passes). */
    rowsBurst: positiveInt().optional(),
  })
  .strict();

export const OPERATIONS = ['infer', 'metadata', 'admin'] as const;

/** One API key, as the keys file (or Redis) holds it: never the key itself, only its SHA-256 digest. */
export const apiKeyEntrySchema = z
  .object({
    /** Who holds the key: in logs, metrics labels and refusals (never the key). */
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key name is 1 to 64 letters, digits, ".", "_" or "-"'),
    /** Hex SHA-256 of the key (`npm run key` makes a key and prints its entry). */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64 lower-case hex digits of the key\'s SHA-256'),
    /** Models the key may call, by name or glob ("*" any run of characters, "?" one); default: every model. */
    models: z.array(z.string().min(1)).min(1).default(['*']),
    /** infer: run models; metadata: read models' metadata, readiness, config and statistics; admin: the admin routes. */
    operations: z.array(z.enum(OPERATIONS)).min(1).default(['infer', 'metadata']),
    /** This key's own limit; unset: rateLimits.perKey. */
    rateLimit: rateLimitSchema.optional(),
  })
  .strict();

export const apiKeysFileSchema = z
  .object({ keys: z.array(apiKeyEntrySchema).default([]) })
  .strict()
  .superRefine((file, ctx) => {
    const names = new Set<string>();
    const digests = new Set<string>();
    file.keys.forEach((key, index) => {
      if (names.has(key.name)) ctx.addIssue({ code: 'custom', path: ['keys', index, 'name'], message: `two keys are named "${key.name}"` });
      if (digests.has(key.sha256)) ctx.addIssue({ code: 'custom', path: ['keys', index, 'sha256'], message: `the same key is listed twice (also above "${key.name}")` });
      names.add(key.name);
      digests.add(key.sha256);
    });
  });

export const authSchema = z
  .object({
    /** off: the data plane answers anyone (the admin routes keep server.adminToken's rule); keys: every data-plane request needs a valid API key. */
    mode: z.enum(['off', 'keys']).default('off'),
    /** YAML file of keys (`keys: [{name, sha256, models, operations, rateLimit}]`), re-read when it changes. */
    keysFile: z.string().optional(),
    /** Keys from Redis (cache.redisUrl): the hash <cache.keyPrefix>:keys, field = key name, value = the entry as JSON. */
    keysFromRedis: z.boolean().default(false),
    /** How often the keys file (or Redis) is checked for changes: a revoked key stops working within about this. */
    reloadCheckMs: positiveInt().default(500),
  })
  .strict()
  .superRefine((auth, ctx) => {
    if (auth.mode === 'keys' && auth.keysFile === undefined && !auth.keysFromRedis) {
      ctx.addIssue({ code: 'custom', path: ['keysFile'], message: 'auth.mode keys needs keysFile, or keysFromRedis with cache.redisUrl' });
    }
    if (auth.keysFile !== undefined && auth.keysFromRedis) {
      ctx.addIssue({ code: 'custom', path: ['keysFromRedis'], message: 'keys come from keysFile or from Redis, not both' });
    }
  });

export const rateLimitsSchema = z
  .object({
    /** The limit of a key that has none of its own (auth.mode keys); unset: such keys are not limited. */
    perKey: rateLimitSchema.optional(),
    /** The limit of each client address (auth.mode off); unset: anonymous traffic is not limited. */
    perAddress: rateLimitSchema.optional(),
    /** Where buckets live: local (each gateway process its own), redis (shared through cache.redisUrl), auto: redis when configured. */
    store: z.enum(['auto', 'local', 'redis']).default('auto'),
    /** With a shared store that cannot be reached: open lets requests through, closed refuses them (503). */
    onStoreDown: z.enum(['open', 'closed']).default('open'),
    /** A shared store that has not answered within this counts as down for that request. */
    storeTimeoutMs: positiveInt().default(50),
  })
  .strict()
  .prefault({});

export type AuthConfig = z.infer<typeof authSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;
export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;
export type ApiKeyEntry = z.infer<typeof apiKeyEntrySchema>;
export type Operation = (typeof OPERATIONS)[number];
