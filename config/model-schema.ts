// A model's own models/<name>/config.yaml: replicas, the versions served and
// their labels, warm-up samples, and
// overrides of the gateway's batching and cache settings. Every field is
// optional; unknown fields are errors.

import { z } from 'zod';
import { batchingFields } from './batching-schema.ts';
import { nonNegativeInt, positiveInt } from './fields.ts';

/** How one warm-up input is filled: all zeros (empty strings for BYTES), seeded pseudo-random values, or one constant. */
const warmupFill = z.union([z.enum(['zeros', 'random']), z.number()]);

/**
 * One warm-up sample of a model version: either `inputs` (a shape and a fill per model input) or `request` (a KServe
 * v2 JSON infer request file, relative to models/<name>/), run `count` times before the version takes traffic.
 */
const warmupSampleSchema = z
  .object({
    name: z.string().min(1).optional(),
    count: positiveInt().max(1000).default(1),
    inputs: z.record(z.string(), z.object({ shape: z.array(nonNegativeInt()), fill: warmupFill.default('zeros') }).strict()).optional(),
    request: z.string().min(1).optional(),
  })
  .strict()
  .refine((sample) => (sample.inputs === undefined) !== (sample.request === undefined), { message: 'give either inputs or request' });

export type WarmupSample = z.infer<typeof warmupSampleSchema>;

/** A model's own models/<name>/config.yaml. */
export const modelConfigSchema = z
  .object({
    replicas: nonNegativeInt().optional(),
    /** Bounds of the replica count a scale call (or the autoscaler) may ask for. */
    minReplicas: nonNegativeInt().optional(),
    maxReplicas: positiveInt().optional(),
    /** The model's autoscaler (gateway/scaling/autoscaler.ts): off, dry-run (decides and reports, changes nothing) or on. */
    autoscaling: z
      .object({
        mode: z.enum(['off', 'dry-run', 'on']).default('off'),
        /** Requests in flight or queued per ready replica to aim for (Ray Serve's target_ongoing_requests). */
        targetOngoingRequests: z.number().positive().optional(),
        /** Or: the queue delay (ms) to stay under. */
        targetQueueDelayMs: z.number().positive().optional(),
        /** A wish to scale up (down) must hold this long before it is acted on. */
        upscaleDelayMs: nonNegativeInt().default(3_000),
        downscaleDelayMs: nonNegativeInt().default(30_000),
        /** Replicas one decision adds (removes) at most. */
        maxStepUp: positiveInt().default(2),
        maxStepDown: positiveInt().default(1),
        /** No decision this long after the last action. */
        cooldownMs: nonNegativeInt().default(10_000),
      })
      .strict()
      .refine((a) => a.targetOngoingRequests === undefined || a.targetQueueDelayMs === undefined, { message: 'give targetOngoingRequests or targetQueueDelayMs, not both' })
      .optional(),
    /** Which version directories are served: `{latest: N}` (default: latest 1), `all`, or `{specific: [..]}`. */
    versionPolicy: z
      .union([z.literal('all'), z.object({ latest: positiveInt() }).strict(), z.object({ specific: z.array(positiveInt()).min(1) }).strict()])
      .optional(),
    /** Names for served versions, accepted wherever a version is (`/v2/models/m/versions/stable/infer`). */
    labels: z
      .record(z.string(), positiveInt())
      .superRefine((labels, ctx) => {
        for (const label of Object.keys(labels)) {
          if (!/^(?!\d+$)[A-Za-z0-9_.-]{1,64}$/.test(label)) ctx.addIssue({ code: 'custom', path: [label], message: 'a label is letters, digits, "_", "." or "-", and not a number' });
        }
      })
      .optional(),
    /** Warm-up samples; a failure makes the version UNAVAILABLE. Without them a synthetic sample runs and only warns. */
    warmup: z.array(warmupSampleSchema).min(1).optional(),
    batching: z
      .object({
        enabled: batchingFields.enabled.optional(),
        maxBatchSize: batchingFields.maxBatchSize.optional(),
        maxQueueDelayMs: batchingFields.maxQueueDelayMs.optional(),
        preferredBatchSizes: batchingFields.preferredBatchSizes.optional(),
        maxQueueSize: batchingFields.maxQueueSize.optional(),
        maxQueueWaitMs: batchingFields.maxQueueWaitMs.optional(),
        defaultTimeoutMs: batchingFields.defaultTimeoutMs.optional(),
        priorityLevels: batchingFields.priorityLevels.optional(),
        defaultPriority: batchingFields.defaultPriority.optional(),
        maxInFlightBatchesPerReplica: batchingFields.maxInFlightBatchesPerReplica.optional(),
        /** Batch axis per tensor name, for models whose batch axis is not 0. */
        batchAxes: z.record(z.string(), nonNegativeInt()).optional(),
      })
      .strict()
      .optional(),
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
