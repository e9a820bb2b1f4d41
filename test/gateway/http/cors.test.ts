import t from 'tap';
import { CORS_ALLOWED_HEADERS, corsAnswerHeaders, optionsReply, originAllowed, type CorsConfig } from '../../../gateway/http/cors.ts';

const named: CorsConfig = { enabled: true, origins: ['https://app.example.com'], maxAgeSeconds: 600 };
const any: CorsConfig = { enabled: true, origins: ['*'], maxAgeSeconds: 60 };

t.test('which origins may call which paths: "*" covers the data plane, admin routes need a named origin', async (t) => {
  const table: Array<[CorsConfig, string, boolean, boolean]> = [
    [named, 'https://app.example.com', false, true],
    [named, 'https://app.example.com', true, true],
    [named, 'https://evil.example', false, false],
    [named, 'https://app.example.com:8443', false, false],
    [any, 'https://evil.example', false, true],
    [any, 'https://evil.example', true, false],
    [{ ...any, origins: ['*', 'https://ops.example'] }, 'https://ops.example', true, true],
    [{ ...named, origins: [] }, 'https://app.example.com', false, false],
  ];
  for (const [cors, origin, admin, allowed] of table) t.equal(originAllowed(cors, origin, admin), allowed, `${cors.origins.join(',')} ${origin} admin=${admin}`);
});

t.test('an answer to an allowed origin says so; a named origin is echoed with Vary: Origin', async (t) => {
  t.same(corsAnswerHeaders(named, 'https://app.example.com', '/v2/models/m/infer'), {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-expose-headers': 'inference-header-content-length, retry-after, x-infergate-cache, x-request-id',
    vary: 'Origin',
  });
  t.same(corsAnswerHeaders(any, 'https://x.example', '/v2/health/ready'), {
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'inference-header-content-length, retry-after, x-infergate-cache, x-request-id',
  });
  t.equal(corsAnswerHeaders(named, 'https://evil.example', '/v2'), undefined);
  t.equal(corsAnswerHeaders(any, 'https://x.example', '/admin/replicas'), undefined, 'admin route: "*" is not enough');
  t.equal(corsAnswerHeaders(any, 'https://x.example', '/nowhere')?.['access-control-allow-origin'], '*', 'a 404 still readable by the page');
});

t.test('preflights: the methods of the path, the headers the gateway reads, the max age', async (t) => {
  const infer = optionsReply(named, '/v2/models/classifier/infer', 'https://app.example.com', 'POST');
  t.same(infer, {
    status: 204,
    headers: {
      allow: 'POST, OPTIONS',
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': CORS_ALLOWED_HEADERS,
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    },
    body: '',
  });
  for (const header of ['content-type', 'inference-header-content-length', 'content-encoding', 'authorization', 'x-request-id']) t.match(CORS_ALLOWED_HEADERS, header);
  const rollout = optionsReply({ ...any, origins: ['https://ops.example'] }, '/admin/models/m/rollouts/current', 'https://ops.example', 'DELETE');
  t.equal(rollout.headers?.['access-control-allow-methods'], 'GET, HEAD, DELETE', 'a path with several methods lists them all');
  t.equal(optionsReply(any, '/v2', 'https://x.example', 'GET').headers?.['access-control-allow-origin'], '*');
});

t.test('preflights refused: an origin not allowed (403), a path with no endpoint (404)', async (t) => {
  t.throws(() => optionsReply(named, '/v2/models/m/infer', 'https://evil.example', 'POST'), { code: 'GW_ERR_CORS_ORIGIN', message: /"https:\/\/evil.example" is not in server.cors.origins$/ });
  t.throws(() => optionsReply(any, '/admin/models/m/rollouts/current', 'https://x.example', 'DELETE'), { code: 'GW_ERR_CORS_ORIGIN', message: /"\*" does not cover them/ });
  t.throws(() => optionsReply(named, '/v3/nothing', 'https://app.example.com', 'GET'), { code: 'GW_ERR_ROUTE_NOT_FOUND' });
});

t.test('a plain OPTIONS (no Origin, or no requested method) gets Allow only', async (t) => {
  t.same(optionsReply(named, '/v2/health/live', undefined, undefined), { status: 204, headers: { allow: 'GET, HEAD, OPTIONS' }, body: '' });
  t.same(optionsReply(named, '/v2/models/m/infer', 'https://evil.example', undefined), { status: 204, headers: { allow: 'POST, OPTIONS' }, body: '' });
});
