// Builds the result cache from a config: each model's policy (its
// config.yaml over the gateway's defaults), the in-process tier and the hot
// memo within cache.memoryMaxBytes, and the Redis tier when one is
// configured.

import type { Logger } from '../common/logger.ts';
import type { RepositoryModel } from '../common/model-repository.ts';
import { answerFromFrame, frameOfAnswer, type InferAnswer } from '../common/wire.ts';
import type { CacheConfig, GatewayConfig } from '../config/schema.ts';
import { MemoryLru } from './cache/memory-lru.ts';
import { splitMemoryBudget } from './cache/memory-costs.ts';
import { adminTimeoutMs, createRedisClient, redisConfigured } from './cache/redis-client.ts';
import { RedisTier } from './cache/redis-tier.ts';
import { ResultCache, type CachePolicy } from './cache/result-cache.ts';
import { Breaker, BreakerClock } from './resilience/circuit-breaker.ts';

export function buildResultCache(
  config: GatewayConfig,
  /** The model as the registry has it now (loaded at start or later). */
  modelOf: (name: string) => RepositoryModel,
  now: () => number,
  logger: Logger,
): { cache: ResultCache<InferAnswer>; redisTier: RedisTier | null } {
  // Each model's policy, made once per model record (a reload with another config.yaml brings a new record).
  const policies = new WeakMap<RepositoryModel, CachePolicy>();
  const policyOf = (model: RepositoryModel): CachePolicy => {
    let policy = policies.get(model);
    if (!policy) {
      const own = model.config.cache;
      policy = { enabled: own?.enabled ?? config.cache.enabled, ttlSeconds: own?.ttlSeconds ?? config.cache.ttlSeconds, maxEntryBytes: own?.maxEntryBytes ?? config.cache.maxEntryBytes };
      policies.set(model, policy);
    }
    return policy;
  };
  // cache.memoryMaxBytes bounds the in-process tier and the hot memo of decoded answers together.
  const memoryBudget = splitMemoryBudget(config.cache.memoryMaxBytes);
  const memory = new MemoryLru({ maxBytes: memoryBudget.tierMaxBytes, now });
  const redisTier = redisConfigured(config.cache) ? createRedisTier(config.cache, memory, logger) : null;
  const cache = new ResultCache<InferAnswer>({
    // Answers are stored as response frames (binary), decoded again on a hit.
    codec: { toBytes: frameOfAnswer, fromBytes: answerFromFrame },
    tiers: redisTier ? [memory, redisTier] : [memory],
    keyPrefix: config.cache.keyPrefix,
    policyFor: (name) => policyOf(modelOf(name)),
    hotMemo: memoryBudget.hotMemo,
  });
  return { cache, redisTier };
}

/**
 * The Redis tier: its client (connecting in the background), a breaker that
 * stops calling a Redis that fails, and a subscriber that drops purged
 * prefixes from this gateway's in-process tier.
 */
function createRedisTier(config: CacheConfig, memory: MemoryLru, logger: Logger): RedisTier {
  const b = config.redisBreaker;
  const breakerConfig = {
    errorThresholdPercentage: b.errorThresholdPercentage,
    volumeThreshold: b.volumeThreshold,
    resetTimeoutMs: b.resetTimeoutMs,
    rollingWindowMs: b.rollingWindowMs,
    rollingBuckets: b.rollingBuckets,
    callTimeoutMs: config.redisTimeoutMs,
  };
  // Every failure of a Redis call is Redis's: there is no client input to tell apart.
  const clock = new BreakerClock(b.rollingWindowMs / b.rollingBuckets);
  const breaker = new Breaker('redis', breakerConfig, clock, () => true);
  breaker.on('state', (to: string, from: string) => logger[to === 'open' ? 'warn' : 'info']({ breaker: 'redis', from, to }, 'redis cache tier breaker changed state'));
  return new RedisTier({
    client: createRedisClient(config, 'commands'),
    subscriber: createRedisClient(config, 'subscriber'),
    adminClient: () => createRedisClient(config, 'admin'),
    adminTimeoutMs: adminTimeoutMs(config),
    breaker,
    clock,
    channel: `${config.keyPrefix}:purge`,
    onPurge: (prefix) => memory.deletePrefix(prefix),
    logger,
  });
}
