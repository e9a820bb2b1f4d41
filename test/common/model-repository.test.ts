import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compareVersions, latestVersion, RepositoryError, scanModelRepository } from '../../common/model-repository.ts';

t.test('versions order as numbers, exactly at any length', async (t) => {
  const cases: Array<[string, string, -1 | 0 | 1]> = [
    ['1', '2', -1],
    ['2', '10', -1],
    ['10', '9', 1],
    ['12', '12', 0],
    ['99', '100', -1],
    ['9007199254740993', '9007199254740992', 1],
  ];
  for (const [a, b, sign] of cases) t.equal(Math.sign(compareVersions(a, b)), sign, `${a} vs ${b}`);
  t.same(['10', '9', '1', '100', '2'].sort(compareVersions), ['1', '2', '9', '10', '100']);
});

t.test('the latest version: of names, of things with a version, of nothing', async (t) => {
  t.equal(latestVersion(['2', '10', '9']), '10');
  t.same(latestVersion([{ version: '3', tag: 'a' }, { version: '20', tag: 'b' }, { version: '4', tag: 'c' }]), { version: '20', tag: 'b' });
  t.equal(latestVersion(new Map([['1', 'x'], ['11', 'y']]).keys()), '11', 'any iterable');
  t.equal(latestVersion([]), undefined);
});

t.test('a scan selects models, and versions of them', async (t) => {
  const repository = t.testdir({
    a: { 'config.yaml': 'versionPolicy: all\n', '1': { 'model.onnx': 'x' }, '2': {}, '10': { 'model.onnx': 'x' }, '01': { 'model.onnx': 'x' } },
    b: { '3': { 'model.onnx': 'x' } },
    'not-a-model': { 'README': 'no versions here' },
  });
  const brief = (include: Parameters<typeof scanModelRepository>[1]) =>
    scanModelRepository(repository, include).map((m) => ({ name: m.name, versions: m.versions.map((v) => `${v.version}${v.noDirectory ? ' (no directory)' : v.missing ? ' (missing)' : ''}`) }));
  t.same(brief([]), [{ name: 'a', versions: ['1', '2 (missing)', '10'] }, { name: 'b', versions: ['3'] }], 'everything (a serves all its versions), versions ascending, "01" is no version');
  t.same(brief(['b']), [{ name: 'b', versions: ['3'] }], 'a bare name: every version');
  t.same(brief([{ name: 'a', versions: ['10', '7', '1'] }, { name: 'b' }]), [{ name: 'a', versions: ['1', '7 (no directory)', '10'] }, { name: 'b', versions: ['3'] }]);
  const [a] = scanModelRepository(repository, [{ name: 'a', versions: ['7'] }]);
  t.same(a!.versions, [{ version: '7', path: join(repository, 'a', '7', 'model.onnx'), missing: true, noDirectory: true }]);
  t.throws(() => scanModelRepository(repository, [{ name: 'not-a-model', versions: ['1'] }]), RepositoryError, 'a model named must be a model');
  t.throws(() => scanModelRepository(join(repository, 'nope'), []), /cannot be read/);
});

t.test('an invalid config.yaml stays the model\'s fault', async (t) => {
  const repository = t.testdir({});
  mkdirSync(join(repository, 'm', '1'), { recursive: true });
  writeFileSync(join(repository, 'm', 'config.yaml'), 'replicas: two\n');
  const [m] = scanModelRepository(repository, [{ name: 'm', versions: ['1'] }]);
  t.match(m!.configError, /replicas/);
});

t.test('the version policy picks the served versions; labels must name served ones', async (t) => {
  const repository = t.testdir({
    latest: { '1': { 'model.onnx': 'x' }, '2': { 'model.onnx': 'x' }, '10': { 'model.onnx': 'x' } },
    latestTwo: { 'config.yaml': 'versionPolicy: { latest: 2 }\n', '1': { 'model.onnx': 'x' }, '2': { 'model.onnx': 'x' }, '10': { 'model.onnx': 'x' } },
    specific: { 'config.yaml': 'versionPolicy: { specific: [1, 7] }\nlabels: { stable: 1 }\n', '1': { 'model.onnx': 'x' }, '2': { 'model.onnx': 'x' } },
    badLabel: { 'config.yaml': 'labels: { stable: 1, canary: 2 }\n', '1': { 'model.onnx': 'x' }, '2': { 'model.onnx': 'x' } },
    numericLabel: { 'config.yaml': 'versionPolicy: all\nlabels: { "3": 1 }\n', '1': { 'model.onnx': 'x' } },
  });
  const byName = new Map(scanModelRepository(repository, []).map((m) => [m.name, m]));
  const versions = (name: string) => byName.get(name)!.versions.map((v) => `${v.version}${v.noDirectory ? ' (no directory)' : ''}`);
  t.same(versions('latest'), ['10'], 'by default, the latest version alone');
  t.same(versions('latestTwo'), ['2', '10'], 'latest: 2');
  t.same(versions('specific'), ['1', '7 (no directory)'], 'specific: those named, a missing one listed to be unavailable');
  t.same(byName.get('specific')!.config.labels, { stable: 1 });
  t.match(byName.get('badLabel')!.configError, /badLabel\/config\.yaml: labels\.canary: version 2 is not served \(versionPolicy latest 1 serves 2\)|labels\.stable: version 1 is not served/, 'a label naming an unserved version is a config error naming the field');
  t.match(byName.get('numericLabel')!.configError, /labels.*not a number/, 'a label cannot be a number');
  const [subset] = scanModelRepository(repository, [{ name: 'badLabel', versions: ['2'] }]);
  t.match(subset!.configError, /labels\.stable/, 'labels are judged by the policy, not by a worker\'s subset');
});
