// The gateway config's sections about workers it does not run: how it
// reaches them (`workers.remote`: the shared token, TLS, discovery) and the
// fixed list of them (`staticReplicas`).

import { z } from 'zod';
import { port, positiveInt } from './fields.ts';

export const remoteWorkersSchema = z
  .object({
    /** The shared worker token (worker --token-file); env INFERGATE_WORKER_TOKEN. */
    token: z.string().min(1).optional(),
    /** TLS to the workers (worker --tls-cert/--tls-key): their certificates are checked against tlsCaFile, else the system's CAs. */
    tls: z.boolean().default(false),
    /** PEM file of the CA that signed the workers' certificates. */
    tlsCaFile: z.string().min(1).optional(),
    /**
     * Workers found at run time, asked for again every refreshMs: a fixed list of `host:port`, and/or a DNS name
     * whose A/AAAA records are the workers (at `port`). Each serves the models it reports.
     */
    discovery: z
      .object({
        static: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/, 'expected "host:port" or "[ipv6]:port"')).default([]),
        dns: z.object({ name: z.string().min(1), port: port() }).strict().optional(),
        /** DNS servers to ask (`ip` or `ip:port`); empty: the system's. */
        servers: z.array(z.string().min(1)).default([]),
        refreshMs: positiveInt().default(5_000),
        /** Every discovered worker's mux port (worker --mux-listen); absent: infer over HTTP. */
        muxPort: port().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/**
 * Workers the gateway does not run: each at a fixed address (`host:port`, `[ipv6]:port` or `unix:/path`), serving
 * the models listed (`name`, or `name:1,2` for some versions only). They are probed until ready and health-checked
 * like local workers; a model may be served by both.
 */
export const staticReplicasSchema = z
  .array(
    z
      .object({
        id: z.string().regex(/^[\w.-]{1,64}$/, 'expected letters, digits, ".", "_" or "-"').optional(),
        address: z.string().regex(/^(unix:\/.+|\[[0-9a-fA-F:.]+\]:\d{1,5}|[^\s:/[\]]+:\d{1,5})$/, 'expected "host:port", "[ipv6]:port" or "unix:/path"'),
        /** A TCP worker's mux port (worker --mux-listen, same host): infer goes over it instead of POST /infer. */
        muxPort: port().optional(),
        models: z.array(z.string().min(1)).min(1),
      })
      .strict(),
  )
  .default([])
  .superRefine((entries, ctx) => {
    const ids = entries.map((e, i) => e.id ?? `static-${i}`);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate replica id "${id}"` });
      if (/^worker-\d+$/.test(id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `"${id}" is the name of a local worker; choose another id` });
    });
  });
