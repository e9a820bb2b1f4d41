import t from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import { AccessGate, type AccessTarget, type Admission, type Credentials } from '../../../gateway/access/access-gate.ts';
import { keyDigest, KeyTable, globPattern, presentedKey } from '../../../gateway/access/api-keys.ts';
import { LocalLimiter } from '../../../gateway/ratelimit/local-limiter.ts';
import { RateLimitedError } from '../../../gateway/ratelimit/rate-limiter.ts';
import type { ApiKeyEntry } from '../../../config/auth-schema.ts';

const ADMIN_TOKEN = 'the-admin-token-of-this-test';

function entry(name: string, models: string[], operations: ApiKeyEntry['operations'], rateLimit?: ApiKeyEntry['rateLimit']): ApiKeyEntry {
  return { name, sha256: keyDigest(`key-of-${name}`), models, operations, ...(rateLimit ? { rateLimit } : {}) };
}

const KEYS = new KeyTable([
  entry('classifier-infer', ['classifier'], ['infer']),
  entry('class-glob', ['class*', 'ranker?'], ['infer', 'metadata']),
  entry('reader', ['*'], ['metadata']),
  entry('operator', ['*'], ['admin']),
]);

const bearer = (name: string): Credentials => ({ authorization: `Bearer key-of-${name}`, apiKey: undefined, remoteAddress: '203.0.113.9' });

/** 'allowed' (with the caller), or the code the gate threw. */
function outcome(gate: AccessGate, credentials: Credentials, target: AccessTarget): string {
  try {
    const admitted = gate.admit(credentials, target) as Admission;
    return `allowed${admitted.caller ? ` as ${admitted.caller}` : ''}`;
  } catch (err) {
    return err instanceof InfergateError ? err.code : `not catalogued: ${err}`;
  }
}

t.test('auth.mode keys: every kind of caller against every kind of route', async (t) => {
  const gate = new AccessGate({ auth: { mode: 'keys' }, keys: () => KEYS, adminToken: ADMIN_TOKEN, limiter: undefined, perKey: undefined, perAddress: undefined });
  const infer = (model: string): AccessTarget => ({ operation: 'infer', model });
  const metadata = (model?: string): AccessTarget => (model === undefined ? { operation: 'metadata' } : { operation: 'metadata', model });
  const everyModel: AccessTarget = { operation: 'metadata', everyModel: true };
  const admin: AccessTarget = { operation: 'admin' };
  const none: Credentials = { authorization: undefined, apiKey: undefined, remoteAddress: '127.0.0.1' };
  const table: Array<[string, Credentials, AccessTarget, string]> = [
    ['no key, from loopback', none, infer('classifier'), 'GW_ERR_UNAUTHORIZED'],
    ['no key, admin route from loopback', none, admin, 'GW_ERR_UNAUTHORIZED'],
    ['unknown key', { ...none, authorization: 'Bearer nope' }, infer('classifier'), 'GW_ERR_UNAUTHORIZED'],
    ['infer key, its model', bearer('classifier-infer'), infer('classifier'), 'allowed as classifier-infer'],
    ['infer key, another model', bearer('classifier-infer'), infer('ranker'), 'GW_ERR_FORBIDDEN'],
    ['infer key, a model that does not exist', bearer('classifier-infer'), infer('no-such-model'), 'GW_ERR_FORBIDDEN'],
    ['infer key, metadata', bearer('classifier-infer'), metadata('classifier'), 'GW_ERR_FORBIDDEN'],
    ['infer key, admin', bearer('classifier-infer'), admin, 'GW_ERR_FORBIDDEN'],
    ['glob key, a matching name', bearer('class-glob'), infer('classifier-v2'), 'allowed as class-glob'],
    ['glob key, ? matches one character', bearer('class-glob'), infer('ranker2'), 'allowed as class-glob'],
    ['glob key, ? matches no more', bearer('class-glob'), infer('ranker22'), 'GW_ERR_FORBIDDEN'],
    ['glob key, the glob is anchored', bearer('class-glob'), infer('subclassifier'), 'GW_ERR_FORBIDDEN'],
    ['glob key, metadata of its model', bearer('class-glob'), metadata('classifier'), 'allowed as class-glob'],
    ['glob key, what lists every model', bearer('class-glob'), everyModel, 'GW_ERR_FORBIDDEN'],
    ['glob key, server metadata', bearer('class-glob'), metadata(), 'allowed as class-glob'],
    ['reader, any model metadata', bearer('reader'), metadata('anything'), 'allowed as reader'],
    ['reader, what lists every model', bearer('reader'), everyModel, 'allowed as reader'],
    ['reader, infer', bearer('reader'), infer('classifier'), 'GW_ERR_FORBIDDEN'],
    ['operator, admin', bearer('operator'), admin, 'allowed as operator'],
    ['operator, infer', bearer('operator'), infer('classifier'), 'GW_ERR_FORBIDDEN'],
    ['admin token, admin', { ...none, authorization: `Bearer ${ADMIN_TOKEN}` }, admin, 'allowed'],
    ['admin token, infer', { ...none, authorization: `Bearer ${ADMIN_TOKEN}` }, infer('classifier'), 'allowed'],
    ['x-api-key header', { ...none, apiKey: 'key-of-classifier-infer' }, infer('classifier'), 'allowed as classifier-infer'],
    ['x-api-key wins over Authorization', { authorization: 'Bearer key-of-reader', apiKey: 'key-of-classifier-infer', remoteAddress: '::1' }, infer('classifier'), 'allowed as classifier-infer'],
    ['Basic with the key as password', { ...none, authorization: `Basic ${Buffer.from('any:key-of-operator').toString('base64')}` }, admin, 'allowed as operator'],
  ];
  for (const [name, credentials, target, expected] of table) t.equal(outcome(gate, credentials, target), expected, name);
  const refusals = Object.fromEntries(gate.refusals());
  t.same(refusals, { missing_credentials: 2, unknown_key: 1, forbidden: 9 }, 'refusals are counted by reason');
});

t.test('a 403 names the key, never the model: the same answer whether the model exists or not', async (t) => {
  const gate = new AccessGate({ auth: { mode: 'keys' }, keys: () => KEYS, adminToken: undefined, limiter: undefined, perKey: undefined, perAddress: undefined });
  const messages = ['ranker', 'secret-model'].map((model) => {
    try {
      gate.admit(bearer('classifier-infer'), { operation: 'infer', model });
      return 'allowed';
    } catch (err) {
      return (err as Error).message;
    }
  });
  t.equal(messages[0], messages[1]);
  t.notMatch(messages[0]!, /ranker|secret/);
});

t.test('auth.mode off: the data plane is open, the admin routes keep their rule', async (t) => {
  const open = new AccessGate({ auth: { mode: 'off' }, keys: () => undefined, adminToken: undefined, limiter: undefined, perKey: undefined, perAddress: undefined });
  t.equal(outcome(open, { authorization: undefined, apiKey: undefined, remoteAddress: '203.0.113.9' }, { operation: 'infer', model: 'm' }), 'allowed');
  t.equal(outcome(open, { authorization: undefined, apiKey: undefined, remoteAddress: '203.0.113.9' }, { operation: 'admin' }), 'GW_ERR_FORBIDDEN');
  t.equal(outcome(open, { authorization: undefined, apiKey: undefined, remoteAddress: '127.0.0.1' }, { operation: 'admin' }), 'allowed');
  const token = new AccessGate({ auth: { mode: 'off' }, keys: () => undefined, adminToken: ADMIN_TOKEN, limiter: undefined, perKey: undefined, perAddress: undefined });
  t.equal(outcome(token, { authorization: undefined, apiKey: undefined, remoteAddress: '127.0.0.1' }, { operation: 'admin' }), 'GW_ERR_UNAUTHORIZED');
  t.equal(outcome(token, { authorization: `Bearer ${ADMIN_TOKEN}`, apiKey: undefined, remoteAddress: '203.0.113.9' }, { operation: 'admin' }), 'allowed');
  t.same(Object.fromEntries(open.refusals()), { forbidden: 1 });
  t.same(Object.fromEntries(token.refusals()), { missing_credentials: 1 });
});

t.test('a revoked key fails on the next request: the gate reads the table it is given each time', async (t) => {
  let table = KEYS;
  const gate = new AccessGate({ auth: { mode: 'keys' }, keys: () => table, adminToken: undefined, limiter: undefined, perKey: undefined, perAddress: undefined });
  t.equal(outcome(gate, bearer('reader'), { operation: 'metadata' }), 'allowed as reader');
  table = new KeyTable([entry('operator', ['*'], ['admin'])]);
  t.equal(outcome(gate, bearer('reader'), { operation: 'metadata' }), 'GW_ERR_UNAUTHORIZED');
});

t.test('rate limits: per key (its own, else perKey), per address with auth off, rows once decoded; admin never limited', async (t) => {
  let nowMs = 0;
  const limiter = new LocalLimiter({ now: () => nowMs });
  const keys = new KeyTable([entry('own', ['*'], ['infer', 'admin'], { requestsPerSecond: 2, burst: 2 }), entry('default', ['*'], ['infer'])]);
  const gate = new AccessGate({ auth: { mode: 'keys' }, keys: () => keys, adminToken: undefined, limiter, perKey: { requestsPerSecond: 1, burst: 1, rowsPerSecond: 10 }, perAddress: undefined });
  const infer: AccessTarget = { operation: 'infer', model: 'm' };
  t.same([1, 2, 3].map(() => outcome(gate, bearer('own'), infer)), ['allowed as own', 'allowed as own', 'GW_ERR_RATE_LIMITED'], 'its own burst of 2');
  t.same([1, 2].map(() => outcome(gate, bearer('default'), infer)), ['allowed as default', 'GW_ERR_RATE_LIMITED'], 'perKey: a burst of 1');
  t.equal(outcome(gate, bearer('own'), { operation: 'admin' }), 'allowed as own', 'the admin routes are not limited');
  try {
    gate.admit(bearer('own'), infer);
    t.fail('over the limit');
  } catch (err) {
    t.ok(err instanceof RateLimitedError);
    const { decision } = err as RateLimitedError;
    t.same({ allowed: decision.allowed, limit: decision.limit, remaining: decision.remaining }, { allowed: false, limit: 2, remaining: 0 });
    t.equal((err as RateLimitedError).retryAfterSeconds, 1, 'Retry-After: one token comes back within a second');
  }
  nowMs += 1000;
  const admitted = gate.admit(bearer('default'), infer) as Admission;
  t.equal(admitted.decision?.remaining, 0);
  t.ok(admitted.rows, 'perKey has rowsPerSecond: the admission carries a rows quota');
  t.doesNotThrow(() => admitted.rows!(8));
  t.throws(() => admitted.rows!(8), { code: 'GW_ERR_RATE_LIMITED' }, '16 rows > a burst of 10');
  t.throws(() => admitted.rows!(11), { code: 'GW_ERR_REQUEST_TOO_LARGE' }, 'more rows than the burst can ever pass: 413, not a 429 for ever');
  t.same(Object.fromEntries(gate.refusals()), { rate_limited: 3, rows_rate_limited: 1 });

  const anonymous = new AccessGate({ auth: { mode: 'off' }, keys: () => undefined, adminToken: undefined, limiter, perKey: undefined, perAddress: { requestsPerSecond: 1, burst: 1 } });
  const from = (remoteAddress: string): Credentials => ({ authorization: undefined, apiKey: undefined, remoteAddress });
  t.same([from('192.0.2.1'), from('192.0.2.1'), from('192.0.2.2')].map((c) => outcome(anonymous, c, infer)), ['allowed', 'GW_ERR_RATE_LIMITED', 'allowed'], 'each address its own bucket');
});

t.test('keys: the digest, globs, and the presented key', async (t) => {
  t.equal(keyDigest('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'SHA-256 in hex');
  t.ok(globPattern('a.b*').test('a.bcd'));
  t.notOk(globPattern('a.b*').test('axbcd'), 'a dot is a dot');
  t.notOk(globPattern('m(1)').test('m1'), 'parentheses are literal');
  t.ok(globPattern('m(1)').test('m(1)'));
  t.equal(presentedKey('Bearer k1', undefined), 'k1');
  t.equal(presentedKey('bearer   k1  ', undefined), 'k1');
  t.equal(presentedKey('Token k1', undefined), undefined);
  t.equal(presentedKey(undefined, ' k2 '), 'k2');
  t.equal(presentedKey('Bearer k1', ''), 'k1', 'an empty x-api-key is none');
  t.equal(presentedKey(`Basic ${Buffer.from('u:p:q').toString('base64')}`, undefined), 'p:q', 'the password is all after the first colon');
  t.equal(new KeyTable([entry('a', ['*'], ['infer'])]).find('key-of-a')?.name, 'a');
  t.equal(new KeyTable([entry('a', ['*'], ['infer'])]).find('key-of-b'), undefined);
});
