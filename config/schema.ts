// The gateway's configuration schema (a model's own config.yaml is
// model-schema.ts; the batching fields both share are batching-schema.ts;
// the sections about workers the gateway does not run are
// remote-workers-schema.ts; the listeners are server-schema.ts). Every field has a default, so an empty
// file (or none) is a valid config: local workers, the demo models, the
// in-process cache. Unknown fields are errors (a typo must not be silently
// ignored). Units are in the names.

import { z } from 'zod';
import { batchingSchema } from './batching-schema.ts';
import { remoteWorkersSchema, staticReplicasSchema } from './remote-workers-schema.ts';
import { externalModelsSchema } from './external-models-schema.ts';
import { serverSchema } from './server-schema.ts';
import { authSchema, rateLimitsSchema } from './auth-schema.ts';
import { nonNegativeInt, positiveInt } from './fields.ts';

export const sessionOptionsSchema = z
  .object({
    /** Threads onnxruntime uses inside one operator; 1 suits one worker per core. */
    intraOpThreads: positiveInt().default(1),
    /** Threads across independent operators (only used in parallel mode). */
    interOpThreads: positiveInt().default(1),
    graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
    executionMode: z.enum(['sequential', 'parallel']).default('sequential'),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema,
    auth: authSchema.prefault({}),
    rateLimits: rateLimitsSchema,
    models: z
      .object({
        /** Model repository: <repository>/<name>/<version>/model.onnx. */
        repository: z.string().min(1).default('models'),
        /** Local replicas (worker processes hosting the model) when the model's own config.yaml names none; 0: only staticReplicas serve it. */
        defaultReplicas: nonNegativeInt().default(2),
        /** Only these models are served; empty means every model in the repository. */
        include: z.array(z.string().min(1)).default([]),
        /**
         * As Triton's --model-control-mode. none: every model is loaded at start and stays as it is until a load or
         * unload (POST /v2/repository/models/{m}/load|unload); explicit: only the models in `load` at start, then
         * what the API loads; poll: as none, and the repository is rescanned every pollIntervalSeconds, loading what
         * changed and unloading what went.
         */
        controlMode: z.enum(['none', 'explicit', 'poll']).default('none'),
        /** Models loaded at start in explicit mode (--load-model, repeatable). */
        load: z.array(z.string().min(1)).default([]),
        /** poll mode: seconds between two scans of the repository. */
        pollIntervalSeconds: positiveInt().default(15),
      })
      .strict()
      .superRefine((models, ctx) => {
        if (models.load.length > 0 && models.controlMode !== 'explicit') {
          ctx.addIssue({ code: 'custom', path: ['load'], message: `models are named to load at start only with controlMode explicit (it is ${models.controlMode})` });
        }
      })
      .prefault({}),
    scaling: z
      .object({
        /** Replicas one scaling step adds or releases at most (PUT /admin/models/{m}/replicas). */
        maxStepReplicas: positiveInt().default(2),
        /** Local worker processes the gateway runs at most, across models (a machine-wide cap). */
        maxWorkers: positiveInt().default(16),
        /** How often the autoscaler observes each autoscaled model (models/<name>/config.yaml `autoscaling`). */
        autoscaleIntervalMs: positiveInt().default(1_000),
      })
      .strict()
      .prefault({}),
    workers: z
      .object({
        sessionOptions: sessionOptionsSchema.prefault({}),
        /** A worker that is not ready this long after spawn is killed and restarted. */
        startupTimeoutMs: positiveInt().default(60_000),
        /** Crash restarts back off exponentially from initial to max. */
        restartBackoffInitialMs: positiveInt().default(200),
        restartBackoffMaxMs: positiveInt().default(10_000),
        /** SIGTERM to a worker lets in-flight work finish this long before SIGKILL. */
        drainTimeoutMs: positiveInt().default(10_000),
        /** Concurrent HTTP connections (so outstanding requests) the gateway opens to one worker. */
        maxConnectionsPerWorker: positiveInt().default(256),
        /**
         * How infer requests reach local workers: `mux`, one multiplexed connection per worker carrying binary frames
         * (docs/architecture.md), or `http`, one POST /infer per request (for comparison; same frames).
         */
        transport: z.enum(['mux', 'http']).default('mux'),
        /** Where local workers' unix sockets live; empty means a fresh temp dir. */
        socketDir: z.string().default(''),
        /** Chaos testing only: start these workers (by id, e.g. "worker-1") with a fault (worker --inject-fault). */
        injectFaults: z.record(z.string(), z.enum(['none', 'infer-errors'])).default({}),
        /** How the gateway reaches workers over TCP (staticReplicas, discovery): what those workers ask of their callers, and where to find them. */
        remote: remoteWorkersSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    /** Workers the gateway does not run, at fixed addresses (remote-workers-schema.ts). */
    staticReplicas: staticReplicasSchema,
    /** Models another HTTP model server serves, proxied as they are (external-models-schema.ts). */
    externalModels: externalModelsSchema,
    upstream: z
      .object({
        /** Tries per request (or batch) across replicas when a replica fails (crash, reset, 5xx, attempt timeout): 2 = one retry, on another replica. */
        maxAttempts: positiveInt().max(10).default(2),
        /** Requests that may wait for a ready replica of one model at once; beyond that: 503. */
        maxWaitingForReplica: nonNegativeInt().default(4096),
        /** One attempt on one replica fails (and may be retried elsewhere) after this long, even if the request's deadline is later. */
        attemptTimeoutMs: positiveInt().default(10_000),
        /** Retries may add at most this share of the requests of the rolling window (a retry storm cannot multiply load)… */
        retryBudgetPercent: z.number().min(0).max(100).default(20),
        /** …but this many retries per second are always allowed (a quiet gateway can still retry). */
        minRetriesPerSecond: nonNegativeInt().default(10),
        /** The rolling window of the retry budget. */
        retryBudgetWindowMs: positiveInt().default(10_000),
      })
      .strict()
      .prefault({}),
    /** One circuit breaker per replica (opossum): only failures of the replica count, never a client's bad input. */
    breaker: z
      .object({
        /** Share of failed calls in the rolling window above which the breaker opens. */
        errorThresholdPercentage: z.number().min(1).max(100).default(50),
        /** Calls in the rolling window before the breaker may open at all. */
        volumeThreshold: nonNegativeInt().default(20),
        /** An open breaker lets one probe through after this long. */
        resetTimeoutMs: positiveInt().default(5_000),
        rollingWindowMs: positiveInt().default(10_000),
        rollingBuckets: positiveInt().max(100).default(10),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        /** Active checks: each ready replica's readiness endpoint every intervalMs (± jitterPercent, so checks never align). */
        checkIntervalMs: positiveInt().default(2_000),
        checkJitterPercent: z.number().min(0).max(100).default(20),
        /** A check slower than this failed (a busy worker answers between inferences, so allow the longest batch). */
        checkTimeoutMs: positiveInt().default(2_000),
        /** Consecutive failed checks that take a replica out of rotation, and passed ones that bring it back. */
        unhealthyThreshold: positiveInt().default(3),
        healthyThreshold: positiveInt().default(2),
        /** Consecutive failed checks after which a local worker is presumed hung and restarted (0: never). */
        restartAfterFailedChecks: nonNegativeInt().default(5),
        /** Passive outlier ejection: this many consecutive replica failures eject it (0: never)… */
        consecutiveFailuresToEject: nonNegativeInt().default(5),
        /** …for baseEjectionMs × (its number of ejections so far), at most maxEjectionMs. */
        baseEjectionMs: positiveInt().default(5_000),
        maxEjectionMs: positiveInt().default(60_000),
        /** Never more than this share of a model's replicas ejected at once. */
        maxEjectionPercent: z.number().min(0).max(100).default(50),
        /** When fewer than this share of a model's ready replicas look healthy, traffic spreads over all ready ones (panic mode). */
        panicThresholdPercent: z.number().min(0).max(100).default(50),
        /** A replica that just became ready gets a share of traffic that ramps up over this window (0: at once). */
        slowStartWindowMs: nonNegativeInt().default(5_000),
        /** Its weight at the start of the window, percent of a full replica's. */
        slowStartMinWeightPercent: z.number().min(1).max(100).default(10),
      })
      .strict()
      .prefault({}),
    /** What one request may ask for; each check runs before any work is done for it. */
    limits: z
      .object({
        /** Rows along a model's batch axis in one request (models without a batch axis are not row-limited). */
        maxRowsPerRequest: positiveInt().default(65_536),
        /** Tensor elements over all inputs of one request; also bounds each input's dims multiplied with every 0 read as 1. */
        maxElementsPerRequest: positiveInt().default(2 ** 24),
        /** Output tensor bytes of one answer (before JSON rendering); the worker refuses a larger one before sending it. */
        maxResponseBytes: positiveInt().default(64 * 1024 * 1024),
        /**
         * Request bytes the gateway holds at once: each request reserves its body bytes × 5 (the body, and up to
         * four times as many bytes of decoded tensors: "0," becomes an 8-byte FP64) from when its headers arrive until
         * it is answered. A request that would go beyond is refused at once (503 + Retry-After) before its body is read.
         */
        maxBufferedRequestBytes: positiveInt().default(1024 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    batching: batchingSchema.prefault({}),
    cache: z
      .object({
        /** Answer repeated identical requests from the result cache (per-model config.yaml may turn it off). */
        enabled: z.boolean().default(true),
        /** How long a stored answer may be served. */
        ttlSeconds: positiveInt().default(300),
        /** Answers larger than this are not stored. */
        maxEntryBytes: positiveInt().default(1024 * 1024),
        /** Bytes the in-process tier may hold (least recently used answers are evicted first). */
        memoryMaxBytes: nonNegativeInt().default(64 * 1024 * 1024),
        /** Namespace of every key: <keyPrefix>:<model>:<version>:<sha256>. */
        keyPrefix: z.string().min(1).default('infergate'),
        /**
         * Redis for a result cache shared by gateways (redis:// or rediss://, credentials and db in the URL).
         * standalone: empty means the in-process tier alone; cluster and sentinel: optional, lends its credentials and TLS.
         */
        redisUrl: z.string().default(''),
        /** standalone (redisUrl), cluster (redisNodes are seed nodes) or sentinel (redisNodes are the sentinels). */
        redisMode: z.enum(['standalone', 'cluster', 'sentinel']).default('standalone'),
        /** "host:port" entries: cluster seed nodes, or sentinels. */
        redisNodes: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected "host:port"')).default([]),
        /** Sentinel mode: the master group name the sentinels watch. */
        redisSentinelName: z.string().default(''),
        /** Every Redis command (GET, SET, a purge step) fails after this long; a request waits at most this for Redis. */
        redisTimeoutMs: positiveInt().default(50),
        /** Breaker around Redis: stops calling it while it fails, probes for its return. */
        redisBreaker: z
          .object({
            /** Failed share of calls (percent) in the rolling window that opens the breaker. */
            errorThresholdPercentage: z.number().min(1).max(100).default(50),
            /** Calls in the window before the share counts. */
            volumeThreshold: nonNegativeInt().default(5),
            /** How long it stays open before one probe call is let through. */
            resetTimeoutMs: positiveInt().default(1000),
            rollingWindowMs: positiveInt().default(10_000),
            rollingBuckets: positiveInt().default(10),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .superRefine((cache, ctx) => {
        if (cache.redisMode !== 'standalone' && cache.redisNodes.length === 0) {
          ctx.addIssue({ code: 'custom', path: ['redisNodes'], message: `redisMode ${cache.redisMode} needs at least one "host:port" in redisNodes` });
        }
        if (cache.redisMode === 'sentinel' && !cache.redisSentinelName) {
          ctx.addIssue({ code: 'custom', path: ['redisSentinelName'], message: 'redisMode sentinel needs the master group name' });
        }
        if (cache.redisUrl && !/^rediss?:\/\//.test(cache.redisUrl)) {
          ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: 'expected a redis:// or rediss:// URL' });
        }
      })
      .prefault({}),
    logging: z
      .object({
        /** Lines below this level are dropped; the workers log at the same level. */
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** 'json': a JSON object per line; 'pretty': readable lines; 'auto': pretty when stdout is a terminal, else JSON. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
        accessLog: z
          .object({
            /** A line per inference request (id, model, version, status, code, durations, cache). Off by default. */
            enabled: z.boolean().default(false),
            /** The share of successful requests logged, 0 to 1; every failed request is logged. */
            sampleRate: z.number().min(0).max(1).default(1),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const redis = config.cache.redisUrl !== '' || config.cache.redisMode !== 'standalone';
    if (config.auth.keysFromRedis && !redis) ctx.addIssue({ code: 'custom', path: ['auth', 'keysFromRedis'], message: 'keys from Redis need cache.redisUrl (or redisNodes)' });
    if (config.rateLimits.store === 'redis' && !redis) ctx.addIssue({ code: 'custom', path: ['rateLimits', 'store'], message: 'a redis store needs cache.redisUrl (or redisNodes)' });
  });

export type GatewayConfig = z.infer<typeof configSchema>;
export type SessionOptionsConfig = z.infer<typeof sessionOptionsSchema>;
export type HealthConfig = GatewayConfig['health'];
export type BreakerSettings = GatewayConfig['breaker'];
export type CacheConfig = GatewayConfig['cache'];
export type LimitsConfig = GatewayConfig['limits'];
export type LoggingConfig = GatewayConfig['logging'];
export type StaticReplicaConfig = GatewayConfig['staticReplicas'][number];
