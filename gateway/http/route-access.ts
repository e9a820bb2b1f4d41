// What each HTTP route asks of the access gate (gateway/access/): an
// operation, and the model it touches when it touches one. Pure. Health
// probes ask nothing: a load balancer must see them without a key.

import type { AccessTarget } from '../access/access-gate.ts';
import { isAdminRoute, type Route } from './routes.ts';

const ADMIN: AccessTarget = { operation: 'admin' };
const SERVER_METADATA: AccessTarget = { operation: 'metadata' };
/** Routes that list every model (the metrics, the all-model statistics): a key must cover every model. */
const EVERY_MODEL: AccessTarget = { operation: 'metadata', everyModel: true };

/** Undefined: the route is open to anyone (liveness, readiness). */
export function routeAccess(route: Route): AccessTarget | undefined {
  if (isAdminRoute(route)) return ADMIN;
  switch (route.name) {
    case 'live':
    case 'ready':
      return undefined;
    case 'serverMetadata':
      return SERVER_METADATA;
    case 'infer':
    case 'tfservingPredict':
      return { operation: 'infer', model: route.model };
    case 'modelMetadata':
    case 'modelReady':
    case 'modelConfig':
    case 'tfservingStatus':
    case 'tfservingMetadata':
      return { operation: 'metadata', model: route.model };
    case 'modelStats':
      return route.model === undefined ? EVERY_MODEL : { operation: 'metadata', model: route.model };
    case 'metrics':
      return EVERY_MODEL;
    default:
      // isAdminRoute took every other route; a new one must be placed above.
      return ADMIN;
  }
}
