// The registry's view of versions (from the repository scan and the
// replicas' reports), how requests resolve to a version, readiness strict or
// not, and that each problem is logged once.

import t from 'tap';
import { silentLogger } from '../../../common/logger.ts';
import { ModelRegistry } from '../../../gateway/models/registry.ts';
import { model, replica, report, sig } from '../../helpers/registry-fixtures.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';

t.test('version states: READY with a ready replica, UNAVAILABLE as reported or scanned, else LOADING', async (t) => {
  const logs = captureLogger();
  const registry = new ModelRegistry(
    [
      model('a', ['1', '2', '3']),
      model('b', ['1'], { configError: 'invalid model config /repo/b/config.yaml: replicas: expected number' }),
      { ...model('c', ['1']), versions: [{ version: '1', path: '/repo/c/1/model.onnx', missing: true }] },
    ],
    logs.logger,
  );
  t.same(registry.status('a').map((v) => v.state), ['LOADING', 'LOADING', 'LOADING'], 'nothing reported yet');
  t.same(registry.status('b'), [{ version: '1', state: 'UNAVAILABLE', reason: 'invalid model config /repo/b/config.yaml: replicas: expected number' }]);
  t.same(registry.status('c'), [{ version: '1', state: 'UNAVAILABLE', reason: '/repo/c/1/model.onnx is missing' }]);
  t.notOk(registry.settled(), 'a is still loading');

  const body = report([sig('a', '1'), sig('a', '2')], [['a', '3', '/repo/a/3/model.onnx: onnxruntime cannot load it: bad']]);
  const replicas = [replica('w0', 'ready', body), replica('w1', 'ready', body)];
  for (const r of replicas) registry.learn(r.id, r.report!);
  registry.observe(replicas);
  t.same(registry.status('a'), [
    { version: '1', state: 'READY' },
    { version: '2', state: 'READY' },
    { version: '3', state: 'UNAVAILABLE', reason: '/repo/a/3/model.onnx: onnxruntime cannot load it: bad' },
  ]);
  t.ok(registry.settled());
  registry.observe(replicas);
  const unavailable = logs.lines().filter((l) => l.msg === 'model version unavailable' && l.model === 'a');
  t.equal(unavailable.length, 1, 'logged once, however often observed');
  t.match(unavailable[0], { level: 'warn', model: 'a', version: '3', reason: /onnxruntime cannot load it/ });

  // Both replicas restart: known signatures still resolve (requests wait for a replica), readiness drops.
  registry.observe([replica('w0', 'starting', body), replica('w1', 'stopped', body)]);
  t.same(registry.status('a').map((v) => v.state), ['LOADING', 'LOADING', 'UNAVAILABLE']);
  t.equal(registry.resolve('a', undefined).version, '2');
});

t.test('resolving: the highest version that can serve, or the catalogued error', async (t) => {
  const registry = new ModelRegistry([model('a', ['1', '2', '3']), model('gone', ['1'])]);
  const body = report([sig('a', '1'), sig('a', '2')], [['a', '3', 'broken'], ['gone', '1', 'also broken']]);
  registry.learn('w0', body);
  registry.observe([replica('w0', 'ready', body)]);
  t.equal(registry.resolve('a', undefined).version, '2', 'version 3 is unavailable: 2 serves unversioned requests');
  t.equal(registry.resolve('a', '1').signature.fingerprint, 'fp-a-1');
  t.throws(() => registry.resolve('a', '3'), { code: 'GW_ERR_MODEL_UNAVAILABLE', message: /version 3: broken/ });
  t.throws(() => registry.resolve('a', '9'), { code: 'GW_ERR_VERSION_NOT_FOUND' });
  t.throws(() => registry.resolve('gone', undefined), { code: 'GW_ERR_MODEL_UNAVAILABLE', message: /no version that can serve: version 1: also broken/ });
  t.throws(() => registry.resolve('x'.repeat(10_000), undefined), { code: 'GW_ERR_MODEL_NOT_FOUND', message: /… \(10000 characters\)$/ });
  const loading = new ModelRegistry([model('a', ['1'])]);
  t.throws(() => loading.resolve('a', undefined), { code: 'GW_ERR_MODEL_NOT_READY' });
});

t.test('readiness: strict needs every version READY; otherwise UNAVAILABLE ones do not hold it back', async (t) => {
  const registry = new ModelRegistry([model('a', ['1']), model('b', ['1'])]);
  t.same(registry.readiness(false).ready, false, 'loading');
  const body = report([sig('a', '1')], [['b', '1', 'warm-up sample "s" failed: no']]);
  registry.learn('w0', body);
  registry.observe([replica('w0', 'ready', body)]);
  const strict = registry.readiness(true);
  t.equal(strict.ready, false);
  t.match(strict.reason, /1 model version is not ready: b version 1 UNAVAILABLE \(warm-up sample "s" failed: no\)/);
  t.same(registry.readiness(false), { ready: true, reason: '' });
});

t.test('a replica that loaded another file under a known name and version does not serve it', async (t) => {
  const logs = captureLogger();
  const registry = new ModelRegistry([model('a', ['1'])], logs.logger);
  t.same(registry.learn('w0', report([sig('a', '1', 'aaaa')])), []);
  const conflicting = registry.learn('w1', report([sig('a', '1', 'bbbb')]));
  t.same(conflicting.map((s) => s.fingerprint), ['bbbb']);
  t.match(logs.lines(), [{ level: 'warn', msg: /loaded a model version from another file/, replica: 'w1', model: 'a', version: '1', sha256: 'bbbb', servedSha256: 'aaaa' }]);
  t.equal(registry.learn('w0', report([sig('a', '1', 'aaaa')])).length, 0);
});

t.test('warnings are logged once per version and message', async (t) => {
  const logs = captureLogger();
  const registry = new ModelRegistry([model('a', ['1'])], logs.logger);
  const body = report([sig('a', '1')], [], [['a', '1', 'synthetic warm-up failed']]);
  registry.learn('w0', body);
  registry.learn('w1', body);
  registry.learn('w0', body);
  t.match(logs.lines(), [{ level: 'warn', msg: 'model version loaded with a warning', model: 'a', version: '1', warning: 'synthetic warm-up failed' }]);
  t.equal(logs.lines().length, 1);
});

t.test('labels resolve to their versions; a model changes while serving: upsert, unload, remove; loads are timed', async (t) => {
  let nowMs = 1_000;
  const registry = new ModelRegistry([model('a', ['1', '2'], { config: { labels: { stable: 1 } } })], silentLogger(), () => nowMs);
  const body = report([sig('a', '1'), sig('a', '2')]);
  const replicas = [replica('w0', 'ready', body)];
  registry.learn('w0', body);
  nowMs = 1_250;
  registry.observe(replicas);
  t.equal(registry.resolve('a', 'stable').version, '1', 'a label stands for its version');
  t.equal(registry.resolve('a', undefined).version, '2');
  t.throws(() => registry.resolve('a', 'canary'), { code: 'GW_ERR_VERSION_NOT_FOUND', message: /versions 1, 2 or labels stable/ });
  t.same(registry.lastLoad('a', '2'), { loadingSinceMs: 1_000, readyAtMs: 1_250, loadMs: 250 }, 'from LOADING at start to READY');

  // A reload: the versions keep serving while the files load anew, and the clock starts again.
  registry.upsert(model('a', ['1', '2', '3'], { config: { labels: { stable: 1 } } }));
  registry.observe(replicas);
  registry.loadBegins('a');
  t.same(registry.status('a').map((v) => v.state), ['READY', 'READY', 'LOADING'], 'served versions stay READY during a load');
  t.equal(registry.resolve('a', undefined).version, '2', 'the new version takes no traffic before it is READY');
  nowMs = 1_400;
  const reloaded = report([sig('a', '1'), sig('a', '2'), sig('a', '3', 'fp-new')]);
  registry.forgetFiles('a');
  registry.learn('w0', reloaded);
  registry.observe([replica('w0', 'ready', reloaded)]);
  t.equal(registry.resolve('a', undefined).signature.fingerprint, 'fp-new');
  t.equal(registry.lastLoad('a', '1')!.loadMs, 150, 'timed from the start of the reload');

  registry.beginUnload('a');
  registry.observe([replica('w0', 'ready', reloaded)]);
  t.same(registry.status('a').map((v) => v.state), ['UNLOADING', 'UNLOADING', 'UNLOADING']);
  t.throws(() => registry.resolve('a', '1'), { code: 'GW_ERR_MODEL_UNAVAILABLE', message: /being unloaded/ });
  t.ok(registry.readiness(true).ready, 'a model going away does not hold readiness back');
  registry.remove('a');
  t.throws(() => registry.resolve('a', '1'), { code: 'GW_ERR_MODEL_NOT_FOUND' });
});

/** What `resolve` throws for a version now (the test fails if it resolves). */
function refusalOf(registry: ModelRegistry, name: string, version: string | undefined): unknown {
  try {
    registry.resolve(name, version);
  } catch (err) {
    return err;
  }
  throw new Error(`${name} ${version} resolved`);
}

t.test('a request for a version still loading waits for it: served once a replica loads it, refused if it fails or goes, 503 after the wait', async (t) => {
  const registry = new ModelRegistry([model('a', ['1', '2']), model('b', ['1']), model('c', ['1'])], silentLogger());
  const waiting = registry.whenLoaded(refusalOf(registry, 'a', '2'), 'a', '2', 10_000);
  const latest = registry.whenLoaded(refusalOf(registry, 'a', undefined), 'a', undefined, 10_000);
  const failing = registry.whenLoaded(refusalOf(registry, 'b', '1'), 'b', '1', 10_000);
  const removed = registry.whenLoaded(refusalOf(registry, 'c', '1'), 'c', '1', 10_000);

  const body = report([sig('a', '1'), sig('a', '2')], [['b', '1', 'onnxruntime cannot load it']]);
  registry.learn('w0', body);
  registry.observe([replica('w0', 'starting', body)]);
  registry.remove('c');
  await t.rejects(removed, { code: 'GW_ERR_MODEL_NOT_FOUND' }, 'a model removed while loading refuses its waiters with 404');
  registry.observe([replica('w0', 'ready', body)]);
  t.same([(await waiting).version, (await latest).version], ['2', '2'], 'served once a ready replica runs it');
  await t.rejects(failing, { code: 'GW_ERR_MODEL_UNAVAILABLE', message: /onnxruntime cannot load it/ }, 'a version that fails to load refuses its waiters with the reason');
  t.throws(() => registry.whenLoaded(refusalOf(registry, 'b', '1'), 'b', '1', 10_000), { code: 'GW_ERR_MODEL_UNAVAILABLE' }, 'not loading: the refusal is thrown at once');

  const slow = new ModelRegistry([model('d', ['1'])], silentLogger());
  t.throws(() => slow.whenLoaded(refusalOf(slow, 'd', '1'), 'd', '1', 0), { code: 'GW_ERR_MODEL_NOT_READY' }, 'no wait budget: the refusal stands');
  await t.rejects(slow.whenLoaded(refusalOf(slow, 'd', '1'), 'd', '1', 20), { code: 'GW_ERR_MODEL_NOT_READY', message: /still loading after 20 ms/ });
  t.throws(() => slow.whenLoaded(new Error('boom'), 'd', '1', 10_000), { message: 'boom' }, 'another refusal is passed on');
});
