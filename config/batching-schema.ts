// Dynamic batching settings: the gateway config's `batching` section (every
// field with its default) and the fields a model's config.yaml may override.

import { z } from 'zod';
import { positiveInt } from './fields.ts';

// Dynamic batching controls (Triton's names where they exist). The gateway
// config holds the defaults; a model's config.yaml may override any of them.
export const batchingFields = {
  /** Batch concurrent requests for this model (models that cannot be batched run unbatched anyway). */
  enabled: z.boolean(),
  /** Rows per batch at most; a request with more rows runs alone. */
  maxBatchSize: positiveInt(),
  /** How long a batch may wait for more rows once a replica could take it (fractions allowed; 0 = never wait). */
  maxQueueDelayMs: z.number().nonnegative(),
  /** Row counts worth dispatching at once (ascending). */
  preferredBatchSizes: z.array(positiveInt()),
  /** Requests queued per model version at most; beyond: 503 with Retry-After. */
  maxQueueSize: positiveInt(),
  /** Queue-delay target: a request expected to wait longer than this for its batch is refused at once (503 + Retry-After), as is one that would miss its deadline; 0 = the deadline only. */
  maxQueueWaitMs: z.number().nonnegative(),
  /** Per model: deadline of a request that asks for none (default server.requestTimeoutMs); a client may ask for a shorter one. */
  defaultTimeoutMs: positiveInt(),
  /** Priority levels 1 (highest) … priorityLevels. */
  priorityLevels: positiveInt().max(16),
  /** Priority of a request that names none. */
  defaultPriority: positiveInt(),
  /** Batches one replica may hold at once (1: the next batch forms while the current one runs). */
  maxInFlightBatchesPerReplica: positiveInt(),
} as const;

const checkPriority = (b: { defaultPriority?: number | undefined; priorityLevels?: number | undefined }) =>
  b.defaultPriority === undefined || b.priorityLevels === undefined || b.defaultPriority <= b.priorityLevels;
const priorityProblem = { message: 'defaultPriority must be ≤ priorityLevels', path: ['defaultPriority'] };

export const batchingSchema = z
  .object({
    enabled: batchingFields.enabled.default(true),
    maxBatchSize: batchingFields.maxBatchSize.default(64),
    maxQueueDelayMs: batchingFields.maxQueueDelayMs.default(0),
    preferredBatchSizes: batchingFields.preferredBatchSizes.default([]),
    maxQueueSize: batchingFields.maxQueueSize.default(2048),
    maxQueueWaitMs: batchingFields.maxQueueWaitMs.default(0),
    priorityLevels: batchingFields.priorityLevels.default(2),
    defaultPriority: batchingFields.defaultPriority.default(2),
    maxInFlightBatchesPerReplica: batchingFields.maxInFlightBatchesPerReplica.default(1),
  })
  .strict()
  .refine(checkPriority, priorityProblem);

export type BatchingConfig = z.infer<typeof batchingSchema>;
