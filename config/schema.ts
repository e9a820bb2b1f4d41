// The gateway's configuration schema. Every field has a default, so an empty
// file (or none) is a valid config: local workers, the demo models, the
// in-process cache. Unknown fields are errors (a typo must not be silently
// ignored). Units are in the names.

import { z } from 'zod';

const positiveInt = () => z.number().int().positive();
const nonNegativeInt = () => z.number().int().nonnegative();

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
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8000),
        /** Largest request body accepted; larger ones get 413 before being read in full. */
        maxBodyBytes: positiveInt().default(64 * 1024 * 1024),
        /** Deadline of a request that names none: covers waiting for a replica, retries and the run. */
        requestTimeoutMs: positiveInt().default(30_000),
        /** On SIGTERM, how long accepted requests may take to finish before the process exits anyway. */
        shutdownGraceMs: positiveInt().default(30_000),
      })
      .strict()
      .prefault({}),
    models: z
      .object({
        /** Model repository: <repository>/<name>/<version>/model.onnx. */
        repository: z.string().min(1).default('models'),
        /** Replicas (worker processes hosting the model) when the model's own config.yaml names none. */
        defaultReplicas: positiveInt().default(2),
        /** Only these models are served; empty means every model in the repository. */
        include: z.array(z.string().min(1)).default([]),
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
        /** Where local workers' unix sockets live; empty means a fresh temp dir. */
        socketDir: z.string().default(''),
      })
      .strict()
      .prefault({}),
    upstream: z
      .object({
        /** Tries per request across replicas when a replica fails (crash, reset, 5xx). */
        maxAttempts: positiveInt().max(10).default(3),
        /** Requests that may wait for a ready replica of one model at once; beyond that: 503. */
        maxWaitingForReplica: nonNegativeInt().default(4096),
      })
      .strict()
      .prefault({}),
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
        /** Redis for a result cache shared by gateways; empty means the in-process tier alone. */
        redisUrl: z.string().default(''),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;
export type SessionOptionsConfig = z.infer<typeof sessionOptionsSchema>;

/** A model's own models/<name>/config.yaml. */
export const modelConfigSchema = z
  .object({
    replicas: positiveInt().optional(),
    cache: z
      .object({
        enabled: z.boolean().optional(),
        ttlSeconds: positiveInt().optional(),
        maxEntryBytes: positiveInt().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ModelConfig = z.infer<typeof modelConfigSchema>;
