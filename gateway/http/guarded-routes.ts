// Puts the access gate (gateway/access/) in front of the HTTP routes: each
// request is admitted before its route runs (and before its body is read),
// by the credentials it carries and what its route asks (route-access.ts).
// An admitted request's caller goes in its record (the access log, the
// rows quota); a rate-limited caller's answers carry the RateLimit-*
// headers, refusals too.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessGate, Admission } from '../access/access-gate.ts';
import { rateLimitHeaders } from '../ratelimit/rate-limit-headers.ts';
import { RateLimitedError, type Decision } from '../ratelimit/rate-limiter.ts';
import { headerText } from './infer-headers.ts';
import type { HandleRoute } from './reply.ts';
import { routeAccess } from './route-access.ts';
import { isAdminRoute } from './routes.ts';

/** `handle` behind the gate; requests for which `trusted` says yes (checked by another process already) pass as they are. */
export function guardedRoutes(handle: HandleRoute, gate: AccessGate, trusted?: (req: IncomingMessage) => boolean): HandleRoute {
  // The default (auth off, no per-address limit) leaves the data plane open: its requests pay nothing here.
  const adminOnly = !gate.checksDataPlane;
  return (route, req, reservation, record, res) => {
    if (adminOnly && !isAdminRoute(route)) return handle(route, req, reservation, record, res);
    const target = routeAccess(route);
    if (target === undefined || trusted?.(req)) return handle(route, req, reservation, record, res);
    let admitted: Admission | Promise<Admission>;
    try {
      admitted = gate.admit({ authorization: headerText(req, 'authorization'), apiKey: headerText(req, 'x-api-key'), remoteAddress: req.socket.remoteAddress }, target);
    } catch (err) {
      throw withLimitHeaders(err, res);
    }
    const proceed = (admission: Admission) => {
      record.caller = admission.caller;
      record.rowQuota = admission.rows;
      if (admission.decision !== undefined) setLimitHeaders(res, admission.decision);
      const reply = handle(route, req, reservation, record, res);
      // A refusal for rows comes from the infer service, once the body is decoded.
      if (admission.rows === undefined || !(reply instanceof Promise)) return reply;
      return reply.catch((err: unknown) => {
        throw withLimitHeaders(err, res);
      });
    };
    if (!(admitted instanceof Promise)) return proceed(admitted);
    return admitted.then(proceed, (err: unknown) => {
      throw withLimitHeaders(err, res);
    });
  };
}

function withLimitHeaders(err: unknown, res: ServerResponse): unknown {
  if (err instanceof RateLimitedError) setLimitHeaders(res, err.decision);
  return err;
}

function setLimitHeaders(res: ServerResponse, decision: Decision): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
}
