// What every front does first with a request: find the version it goes to
// (the infer service's target, a rollout's split included) and write that
// model and version into its record, for the metrics and logs.

import type { RequestRecord } from '../telemetry/request-record.ts';
import type { InferService, InferTarget } from './infer-service.ts';

/** The target, in place when the service has it at once (no promise on the hot path), else a promise of it. */
export function requestTarget(service: Pick<InferService, 'target'>, model: string, version: string | undefined, sessionKey: string | undefined, record: RequestRecord): InferTarget | Promise<InferTarget> {
  const targeted = service.target(model, version, sessionKey);
  return targeted instanceof Promise ? targeted.then((target) => noted(target, record)) : noted(targeted, record);
}

function noted(target: InferTarget, record: RequestRecord): InferTarget {
  record.model = target.model.name;
  record.version = target.model.version;
  return target;
}
