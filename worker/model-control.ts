// The worker's model control routes (common/wire.ts WORKER_ROUTES), for the
// gateway's repository API; worker-internal, like every worker route:
//
//   POST /models/{name}/load     body none | {"versions": ["1", "3"]}   → 200 WorkerModelsBody
//   POST /models/{name}/unload   no body                                → 200 WorkerModelsBody
//
// Each answers once the change is done (new versions warmed up, replaced and
// retired sessions released), with the report GET /models gives from then
// on. The store does the work (ModelStore.load/unload); this file only reads
// the path and the body.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../common/errors.ts';
import { WORKER_ROUTES, type WorkerModelsBody } from '../common/wire.ts';
import type { WorkerModelLoadBody } from '../common/worker-control.ts';
import type { ModelStore } from './model-store.ts';

/** What the routes need of a model store (a test can hand a fake). */
export type ModelControl = Pick<ModelStore, 'load' | 'unload'>;

export type ModelControlCall = { action: 'load' | 'unload'; name: string };

/** A load body is a short list of versions: anything longer than this is not one. */
export const MODEL_CONTROL_MAX_BODY_BYTES = 64 * 1024;

const ROUTES: ReadonlyArray<[ModelControlCall['action'], RegExp]> = [
  ['load', pathPattern(WORKER_ROUTES.modelLoad)],
  ['unload', pathPattern(WORKER_ROUTES.modelUnload)],
];

/** The call a request path names, or undefined for other paths (and for a name that is not valid percent-encoding). */
export function matchModelControl(path: string): ModelControlCall | undefined {
  for (const [action, pattern] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    try {
      return { action, name: decodeURIComponent(match[1]!) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Carries out a call; `body` is the request body (empty when none). Throws InfergateError. */
export async function runModelControl(control: ModelControl, { action, name }: ModelControlCall, body: Uint8Array): Promise<WorkerModelsBody> {
  if (action === 'unload') {
    if (body.byteLength > 0) throw new InfergateError('GW_ERR_INVALID_REQUEST', `POST ${WORKER_ROUTES.modelUnload} takes no body`);
    return control.unload(name);
  }
  const { versions } = parseLoadBody(body);
  return control.load(versions === undefined ? { name } : { name, versions });
}

/** Whether a request comes with a body (a load may come without one, and then needs no content type). */
export function hasBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return (declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function parseLoadBody(body: Uint8Array): WorkerModelLoadBody {
  if (body.byteLength === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new InfergateError('GW_ERR_MALFORMED_JSON', (err as Error).message);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InfergateError('GW_ERR_INVALID_REQUEST', 'the body must be a JSON object');
  const { versions, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new InfergateError('GW_ERR_INVALID_REQUEST', `unknown field ${JSON.stringify(unknown[0]!.slice(0, 64))}; the body takes only "versions"`);
  if (versions === undefined) return {};
  // Element checks (canonical positive integers) are the store's, shared with its other callers.
  if (!Array.isArray(versions)) throw new InfergateError('GW_ERR_INVALID_REQUEST', '"versions" must be a list of version names, e.g. ["1", "3"]');
  return { versions: versions as string[] };
}

/** '/models/{name}/load' → /^\/models\/([^/]+)\/load$/ (route templates hold no other regex characters). */
function pathPattern(template: string): RegExp {
  return new RegExp(`^${template.replace('{name}', '([^/]+)')}$`);
}
