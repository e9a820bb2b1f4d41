import t from 'tap';
import { inferenceProtocol, isAdminRoute, matchPath, matchRoute } from '../../../gateway/http/routes.ts';

t.test('KServe v2 routes', async (t) => {
  const table: Array<[string, string, object]> = [
    ['GET', '/v2', { name: 'serverMetadata' }],
    ['GET', '/v2/', { name: 'serverMetadata' }],
    ['GET', '/v2/health/live', { name: 'live' }],
    ['HEAD', '/v2/health/ready', { name: 'ready' }],
    ['GET', '/v2/models/classifier', { name: 'modelMetadata', model: 'classifier' }],
    ['GET', '/v2/models/classifier/versions/2', { name: 'modelMetadata', model: 'classifier', version: '2' }],
    ['GET', '/v2/models/classifier/ready', { name: 'modelReady', model: 'classifier' }],
    ['GET', '/v2/models/classifier/versions/1/ready', { name: 'modelReady', model: 'classifier', version: '1' }],
    ['POST', '/v2/models/classifier/infer', { name: 'infer', model: 'classifier' }],
    ['POST', '/v2/models/classifier/versions/1/infer?x=1', { name: 'infer', model: 'classifier', version: '1' }],
    ['POST', '/v2/models/my%20model/infer', { name: 'infer', model: 'my model' }],
    ['GET', '/admin/replicas', { name: 'replicas' }],
    ['DELETE', '/admin/cache/models/classifier', { name: 'cachePurge', model: 'classifier' }],
    ['DELETE', '/admin/cache/models/a%2Ab/versions/2', { name: 'cachePurge', model: 'a*b', version: '2' }],
    ['GET', '/admin/models', { name: 'modelsAdmin' }],
    ['POST', '/v2/repository/index', { name: 'repositoryIndex' }],
    ['POST', '/v2/repository/models/classifier/load', { name: 'repositoryLoad', model: 'classifier' }],
    ['POST', '/v2/repository/models/my%20model/unload', { name: 'repositoryUnload', model: 'my model' }],
    ['GET', '/v2/models/stats', { name: 'modelStats' }],
    ['GET', '/v2/models/classifier/stats', { name: 'modelStats', model: 'classifier' }],
    ['GET', '/v2/models/classifier/versions/2/stats', { name: 'modelStats', model: 'classifier', version: '2' }],
    ['GET', '/metrics', { name: 'metrics' }],
    ['GET', '/', { name: 'statusPage' }],
    ['GET', '/admin/status', { name: 'statusData' }],
  ];
  for (const [method, url, route] of table) t.same(matchRoute(method, url), route, `${method} ${url}`);
});

t.test('Triton\'s model-config route', async (t) => {
  t.same(matchRoute('GET', '/v2/models/classifier/config'), { name: 'modelConfig', model: 'classifier' });
  t.same(matchRoute('HEAD', '/v2/models/classifier/versions/2/config'), { name: 'modelConfig', model: 'classifier', version: '2' });
  t.throws(() => matchRoute('POST', '/v2/models/classifier/config'), { code: 'GW_ERR_METHOD_NOT_ALLOWED' });
  t.notOk(isAdminRoute(matchRoute('GET', '/v2/models/classifier/config')), 'data plane: Triton\'s tools read it without a token');
});

t.test('TF Serving\'s routes: status, metadata and predict, by version or label', async (t) => {
  const table: Array<[string, string, object]> = [
    ['GET', '/v1/models/classifier', { name: 'tfservingStatus', model: 'classifier' }],
    ['GET', '/v1/models/classifier/versions/2', { name: 'tfservingStatus', model: 'classifier', version: '2' }],
    ['HEAD', '/v1/models/classifier/labels/canary', { name: 'tfservingStatus', model: 'classifier', version: 'canary' }],
    ['GET', '/v1/models/classifier/metadata', { name: 'tfservingMetadata', model: 'classifier' }],
    ['GET', '/v1/models/classifier/versions/1/metadata?x=1', { name: 'tfservingMetadata', model: 'classifier', version: '1' }],
    ['GET', '/v1/models/classifier/labels/stable/metadata', { name: 'tfservingMetadata', model: 'classifier', version: 'stable' }],
    ['GET', '/v1/models/metadata', { name: 'tfservingStatus', model: 'metadata' }],
    ['POST', '/v1/models/classifier:predict', { name: 'tfservingPredict', model: 'classifier' }],
    ['POST', '/v1/models/classifier/versions/2:predict', { name: 'tfservingPredict', model: 'classifier', version: '2' }],
    ['POST', '/v1/models/classifier/labels/canary:predict', { name: 'tfservingPredict', model: 'classifier', version: 'canary' }],
    ['POST', '/v1/models/my%20model:predict', { name: 'tfservingPredict', model: 'my model' }],
    ['POST', '/v1/models/a%3Ab:predict', { name: 'tfservingPredict', model: 'a:b' }],
  ];
  for (const [method, url, route] of table) t.same(matchRoute(method, url), route, `${method} ${url}`);
  const refused: Array<[string, string, string]> = [
    ['GET', '/v1/models/classifier:predict', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST', '/v1/models/classifier', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST', '/v1/models/classifier/metadata', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST', '/v1/models/classifier:classify', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/v1/models/classifier:regress', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/v1/models/:predict', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/v1/models/classifier/metadata:predict', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/v1/models/classifier:predict:x', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v1/models/classifier/versions', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v1/models/classifier/tags/1', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v1/models/classifier/versions/1/metadata/x', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v1/models/%E0%A4%A', 'GW_ERR_ROUTE_NOT_FOUND'],
  ];
  for (const [method, url, code] of refused) t.throws(() => matchRoute(method, url), { code }, `${method} ${url}`);
  t.same(matchPath('/v1/models/classifier:predict')?.methods, ['POST']);
  t.notOk(isAdminRoute(matchRoute('POST', '/v1/models/m:predict')));
});

t.test('inference routes and the protocol each is counted under', async (t) => {
  t.equal(inferenceProtocol(matchRoute('POST', '/v2/models/m/infer')), 'rest');
  t.equal(inferenceProtocol(matchRoute('POST', '/v1/models/m:predict')), 'tfserving');
  t.equal(inferenceProtocol(matchRoute('GET', '/v1/models/m/metadata')), undefined);
  t.equal(inferenceProtocol(matchRoute('GET', '/v2/models/m')), undefined);
});

t.test('the repository control routes are admin routes; the data plane is not', async (t) => {
  for (const url of ['/v2/repository/index', '/v2/repository/models/m/load', '/v2/repository/models/m/unload']) t.ok(isAdminRoute(matchRoute('POST', url)), url);
  t.ok(isAdminRoute(matchRoute('GET', '/admin/models')));
  t.notOk(isAdminRoute(matchRoute('POST', '/v2/models/m/infer')));
  t.ok(isAdminRoute(matchRoute('GET', '/')), 'the status page');
  t.ok(isAdminRoute(matchRoute('GET', '/admin/status')));
  t.notOk(isAdminRoute(matchRoute('GET', '/metrics')), 'Prometheus scrapes without a token');
  t.notOk(isAdminRoute(matchRoute('GET', '/v2/models/stats')));
});

t.test('unknown paths and wrong methods are catalogued errors', async (t) => {
  const table: Array<[string, string, string]> = [
    ['GET', '/index.html', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['GET', '/v1/models', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v1/things/x', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/health', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/models', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/models/x/versions', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/models/x/versions/1/explain', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/models/%E0%A4%A/infer', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/models/x/infer', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST', '/v2/health/live', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['DELETE', '/v2/models/x', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['GET', '/admin/cache/models/x', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['DELETE', '/admin/cache/models/x/versions', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/v2/repository/index', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST', '/v2/repository/models/m/reload', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/v2/repository/models/m', 'GW_ERR_ROUTE_NOT_FOUND'],
  ];
  for (const [method, url, code] of table) t.throws(() => matchRoute(method, url), { code }, `${method} ${url}`);
});

t.test('the rollout routes: start (POST), status (GET, HEAD) and abort (DELETE) of the current one', async (t) => {
  const table: Array<[string, string, object]> = [
    ['POST', '/admin/models/classifier/rollouts', { name: 'rolloutStart', model: 'classifier' }],
    ['POST', '/admin/models/my%20model/rollouts', { name: 'rolloutStart', model: 'my model' }],
    ['POST', '/admin/models/a%2Fb/rollouts?dry=1', { name: 'rolloutStart', model: 'a/b' }],
    ['GET', '/admin/models/my%20model/rollouts/current', { name: 'rolloutStatus', model: 'my model' }],
    ['HEAD', '/admin/models/classifier/rollouts/current', { name: 'rolloutStatus', model: 'classifier' }],
    ['DELETE', '/admin/models/my%20model/rollouts/current', { name: 'rolloutAbort', model: 'my model' }],
    ['GET', '/admin/models/rollouts', { name: 'modelAdmin', model: 'rollouts' }],
  ];
  for (const [method, url, route] of table) t.same(matchRoute(method, url), route, `${method} ${url}`);
  for (const [method, url] of [['POST', '/admin/models/m/rollouts'], ['GET', '/admin/models/m/rollouts/current'], ['DELETE', '/admin/models/m/rollouts/current']] as const) {
    t.ok(isAdminRoute(matchRoute(method, url)), `${method} ${url} is an admin route`);
  }
});

t.test('the rollout routes refuse other methods and paths', async (t) => {
  const table: Array<[string, string, string]> = [
    ['PUT', '/admin/models/m/rollouts/current', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['POST', '/admin/models/m/rollouts/current', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['GET', '/admin/models/m/rollouts', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['HEAD', '/admin/models/m/rollouts', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['DELETE', '/admin/models/m/rollouts', 'GW_ERR_METHOD_NOT_ALLOWED'],
    ['GET', '/admin/models/m/rollouts/other', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['GET', '/admin/models/m/rollouts/current/extra', 'GW_ERR_ROUTE_NOT_FOUND'],
    ['POST', '/admin/models/%E0%A4%A/rollouts', 'GW_ERR_ROUTE_NOT_FOUND'],
  ];
  for (const [method, url, code] of table) t.throws(() => matchRoute(method, url), { code }, `${method} ${url}`);
  t.throws(() => matchRoute('PUT', '/admin/models/m/rollouts/current'), {
    code: 'GW_ERR_METHOD_NOT_ALLOWED',
    message: 'the endpoint does not accept this HTTP method: "PUT" "/admin/models/m/rollouts/current" (allowed: GET, DELETE)',
  });
  t.throws(() => matchRoute('GET', '/admin/models/m/rollouts'), { code: 'GW_ERR_METHOD_NOT_ALLOWED', message: /\(allowed: POST\)$/ });
});

t.test('a 405 carries the methods the path takes (HEAD wherever GET is), for its Allow header', async (t) => {
  const table: Array<[string, string, string[]]> = [
    ['POST', '/v2/health/live', ['GET', 'HEAD']],
    ['GET', '/v2/models/m/infer', ['POST']],
    ['OPTIONS', '/v2/models/m/infer', ['POST']],
    ['GET', '/admin/cache/models/m', ['DELETE']],
    ['PUT', '/admin/models/m/rollouts/current', ['GET', 'HEAD', 'DELETE']],
    ['GET', '/admin/models/m/replicas', ['PUT']],
  ];
  for (const [method, url, allowed] of table) {
    t.throws(() => matchRoute(method, url), { code: 'GW_ERR_METHOD_NOT_ALLOWED', allowedMethods: allowed }, `${method} ${url}`);
  }
});

t.test('matchPath: a path\'s endpoint and methods whatever the method asked', async (t) => {
  t.same(matchPath('/v2/models/m/infer?x=1'), { route: { name: 'infer', model: 'm' }, methods: ['POST'] });
  t.same(matchPath('/admin/models/m/rollouts/current'), { route: { name: 'rolloutStatus', model: 'm' }, methods: ['GET', 'HEAD', 'DELETE'] });
  t.equal(matchPath('/v3'), undefined);
});

t.test('/v2/models/stats is every model\'s statistics; a model named "stats" keeps its other routes', async (t) => {
  const table: Array<[string, string, object]> = [
    ['GET', '/v2/models/stats', { name: 'modelStats' }],
    ['GET', '/v2/models/stats/versions/1', { name: 'modelMetadata', model: 'stats', version: '1' }],
    ['GET', '/v2/models/stats/ready', { name: 'modelReady', model: 'stats' }],
    ['POST', '/v2/models/stats/infer', { name: 'infer', model: 'stats' }],
    ['GET', '/v2/models/stats/stats', { name: 'modelStats', model: 'stats' }],
  ];
  for (const [method, url, route] of table) t.same(matchRoute(method, url), route, `${method} ${url}`);
});
