// The gateway config's `externalModels`: models that another HTTP model
// server serves (a Triton, a TF Serving, another infergate), which the
// gateway fronts without running them: it proxies their requests to the
// server's replicas as they are, with least-connections, per-replica
// breakers, health checks on the server's own health route, retries of
// failed connections and 5xx answers, and deadlines.

import { z } from 'zod';
import { positiveInt } from './fields.ts';

const MODEL_NAME = /^[A-Za-z0-9][\w.-]{0,127}$/;

export const externalModelsSchema = z
  .array(
    z
      .object({
        /** The name clients use (under /v2/models/{name}/…, and TF Serving's /v1/models/{name}…). It must not also be a model of the repository. */
        name: z.string().regex(MODEL_NAME, 'expected a model name: letters, digits, "_", "." or "-"'),
        /** The model's name on the upstream server; default: `name`. */
        upstreamName: z.string().regex(MODEL_NAME, 'expected a model name: letters, digits, "_", "." or "-"').optional(),
        /** Base URLs of the server's replicas (http:// or https://, no path). */
        replicas: z.array(z.url({ protocol: /^https?$/ })).min(1),
        /** The route whose 200 says a replica is ready (KServe v2 and Triton: /v2/health/ready). */
        healthPath: z.string().startsWith('/').default('/v2/health/ready'),
        /** Deadline of a request that names none (header or parameter): what the upstream may take, retries included. */
        timeoutMs: positiveInt().default(30_000),
      })
      .strict(),
  )
  .default([])
  .superRefine((models, ctx) => {
    const names = models.map((m) => m.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate external model "${name}"` });
    });
  });

export type ExternalModelConfig = z.infer<typeof externalModelsSchema>[number];
