// Property-based fuzzing of the HTTP router (issue 18, item 5): for any
// method and any URL (percent-encoding, bad escapes, dots, colons, very long
// segments, queries), matchRoute returns a Route or throws an InfergateError
// with GW_ERR_ROUTE_NOT_FOUND or GW_ERR_METHOD_NOT_ALLOWED; nothing else.

import fc from 'fast-check';
import t from 'tap';
import { InfergateError } from '../../common/errors.ts';
import { matchPath, matchRoute } from '../../gateway/http/routes.ts';
import { RUNS } from './fuzz-support.ts';

const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'get', ''), fc.string({ unit: 'binary', maxLength: 20 }));

const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('v1', 'v2', 'models', 'classifier', 'versions', '1', 'infer', 'ready', 'stats', 'config', 'metadata', 'labels', 'classifier:predict', ':predict', 'x:classify', 'admin', 'cache', 'replicas', 'rollouts', 'current', 'batching', 'status', 'metrics', 'health', 'live', 'repository', 'index', 'load', 'unload', 'serving_default') },
  { weight: 2, arbitrary: fc.constantFrom('.', '..', '%2e%2e', '%2F', '%', '%zz', '%E0%A4%A', '%ED%A0%80', '%00', '%C0%AF', '%FF', '\u0000', '%2fetc%2fpasswd', '__proto__', 'constructor', 'hasOwnProperty', '::', ':') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', '%41', '%', '/', '.'), fc.integer({ min: 100, max: 50_000 })).map(([s, n]) => s.repeat(n)) },
);

const url = fc
  .tuple(fc.array(segment, { maxLength: 8 }), fc.constantFrom('/', '//', '/./'), fc.boolean(), fc.option(fc.string({ unit: 'binary', maxLength: 16 }), { nil: undefined }))
  .map(([segments, joiner, trailing, query]) => '/' + segments.join(joiner) + (trailing ? '/' : '') + (query === undefined ? '' : `?${query}`));

/** Real endpoints with fuzzed names in the model and version slots. */
const TEMPLATES = ['/v2/models/{m}/infer', '/v2/models/{m}/versions/{v}/infer', '/v2/models/{m}', '/v2/models/{m}/ready', '/v2/models/{m}/versions/{v}/stats', '/v1/models/{m}:predict', '/v1/models/{m}/versions/{v}:predict', '/v1/models/{m}/labels/{v}/metadata', '/admin/models/{m}/replicas', '/admin/models/{m}/rollouts/current', '/admin/cache/models/{m}/versions/{v}', '/v2/repository/models/{m}/load', '/v2/health/ready', '/metrics'];
const templated = fc
  .tuple(fc.constantFrom(...TEMPLATES), segment, segment, fc.option(fc.string({ maxLength: 8 }), { nil: undefined }))
  .map(([template, m, v, query]) => template.replace('{m}', m).replace('{v}', v) + (query === undefined ? '' : `?${query}`));

const anyUrl = fc.oneof({ weight: 4, arbitrary: url }, { weight: 4, arbitrary: templated }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) }, { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) });

t.test('matchRoute: a Route or a routing error, for any method and URL', async (t) => {
  let routed = 0;
  fc.assert(
    fc.property(method, anyUrl, (m, u) => {
      let route;
      try {
        route = matchRoute(m, u);
      } catch (err) {
        if (err instanceof InfergateError && (err.code === 'GW_ERR_ROUTE_NOT_FOUND' || err.code === 'GW_ERR_METHOD_NOT_ALLOWED')) {
          if (err.message.length > 1024) throw new Error(`a ${err.message.length}-character error message echoes the URL`);
          return;
        }
        throw err;
      }
      routed++;
      if (typeof route !== 'object' || route === null || typeof route.name !== 'string') throw new Error(`not a route: ${String(route)}`);
      // The route matchPath finds for the same URL is the same endpoint (matchRoute only adds the method).
      if (!matchPath(u)) throw new Error('matchRoute routed a URL that matchPath does not know');
    }),
    { numRuns: RUNS * 3 },
  );
  t.ok(routed > 0, `${routed} of the fuzzed requests reached a route`);
});

t.test('matchPath: a route and its methods, or undefined', async (t) => {
  fc.assert(
    fc.property(anyUrl, (u) => {
      const found = matchPath(u);
      if (found !== undefined && (typeof found.route.name !== 'string' || !Array.isArray(found.methods) || found.methods.length === 0)) throw new Error('malformed match');
    }),
    { numRuns: RUNS },
  );
  t.pass('never throws');
});
