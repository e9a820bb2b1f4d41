// ModelStore's live load and unload in-process, over fake onnxruntime
// sessions whose runs the test holds and releases: the order of events a
// real worker can only show statistically (a retired session is released
// only after the runs started on it end; new runs never reach it; calls take
// turns).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import type { Tensor } from '../../common/wire.ts';
import type { Session } from '../../worker/loaded-version.ts';
import { ModelStore } from '../../worker/model-store.ts';
import { writeModel } from '../helpers/test-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-store-live-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

type FakeSession = Session & { path: string; runs: number; releases: number; heldRuns: Array<() => void> };

/** Sessions whose runs answer y = x at once, or, while `hold` is set, once the test calls the run's release. */
function fakeOnnxruntime() {
  const sessions: FakeSession[] = [];
  const control = { hold: false };
  const metadata = [{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 2] }] as unknown as ort.InferenceSession.ValueMetadata[];
  const createSession = async (path: string): Promise<Session> => {
    const session: FakeSession = {
      path,
      runs: 0,
      releases: 0,
      heldRuns: [],
      inputMetadata: metadata,
      outputMetadata: metadata.map((m) => ({ ...m, name: 'y' })),
      release: async () => void session.releases++,
      run: async (feeds) => {
        session.runs++;
        if (control.hold) await new Promise<void>((resolve) => session.heldRuns.push(resolve));
        return { y: new ort.Tensor('float32', (feeds.x as ort.Tensor).data as Float32Array, (feeds.x as ort.Tensor).dims) };
      },
    };
    sessions.push(session);
    return session;
  };
  return { sessions, control, createSession };
}

function setup() {
  const repository = join(dir, `repo${count++}`);
  const file = writeModel(repository, 'm', '1', new Uint8Array([1]));
  const fake = fakeOnnxruntime();
  const store = new ModelStore({ modelsDir: repository, models: [], session: { graphOptimizationLevel: 'all', executionMode: 'sequential' }, createSession: fake.createSession });
  return { repository, file, fake, store };
}

const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Uint8Array(new Float32Array([1, 2]).buffer) };
/** Lets every pending promise callback and immediate run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('unload: a run in flight finishes before its session is released; new runs are refused at once', async (t) => {
  const { fake, store } = setup();
  await store.start();
  const [session] = fake.sessions;
  fake.control.hold = true;
  const inFlight = store.run('m', '1', [x]);
  await settle();
  t.equal(session!.heldRuns.length, 1, 'the run reached onnxruntime');

  let unloaded = false;
  const unloading = store.unload('m').then((report) => ((unloaded = true), report));
  await settle();
  await t.rejects(store.run('m', '1', [x]), { code: 'GW_ERR_MODEL_NOT_FOUND', message: /it was unloaded/ }, 'a new run is refused');
  t.same(store.report().models, [], 'GET /models no longer lists it');
  t.same([unloaded, session!.releases], [false, 0], 'the session is kept while its run is in flight');

  session!.heldRuns.shift()!();
  t.same((await inFlight).version, '1', 'the run in flight finishes');
  t.same((await unloading).models, [], 'unload answers once done');
  t.equal(session!.releases, 1, 'then the session is released, once');
  await store.close();
  t.equal(session!.releases, 1, 'close does not release it again');
});

t.test('reload: the new session takes new runs once warmed up; the old one finishes its runs, then is released', async (t) => {
  const { repository, file, fake, store } = setup();
  await store.start();
  const [old] = fake.sessions;
  const oldFingerprint = store.report().models[0]!.fingerprint;
  fake.control.hold = true;
  const onOld = store.run('m', '1', [x]);
  await settle();

  t.same((await store.load({ name: 'm' })).models.map((m) => m.fingerprint), [oldFingerprint], 'an unchanged file is not reloaded');
  t.equal(fake.sessions.length, 1, 'no session created for it');

  writeModel(repository, 'm', '1', new Uint8Array([2]));
  fake.control.hold = false;
  let loaded = false;
  const loading = store.load({ name: 'm' }).then((report) => ((loaded = true), report));
  // Swapped in once warmed up: the report changes in the same turn as the table.
  while (store.report().models[0]!.fingerprint === oldFingerprint) await settle();
  const fresh = fake.sessions[1]!;
  t.equal(fresh.path, file);
  const [oldRuns, freshRuns] = [old!.runs, fresh.runs];
  t.ok(freshRuns >= 1, 'the new session was warmed up first');
  await store.run('m', '1', [x]);
  t.same([old!.runs - oldRuns, fresh.runs - freshRuns], [0, 1], 'a new run goes to the new session');
  t.same([loaded, old!.releases], [false, 0], 'the old session waits for its run');

  old!.heldRuns.shift()!();
  await onOld;
  const report = await loading;
  t.not(report.models[0]!.fingerprint, oldFingerprint, 'the new fingerprint is reported');
  t.same([old!.releases, fresh.releases], [1, 0], 'only the old session is released');
  await store.close();
  t.equal(fresh.releases, 1, 'close releases the one serving');
});

t.test('load and unload calls take turns in the order they were made', async (t) => {
  const { fake, store } = setup();
  await store.start();
  const calls = [store.unload('m'), store.load({ name: 'm' }), store.unload('m'), store.load({ name: 'm', versions: ['1'] })];
  const reports = await Promise.all(calls);
  t.same(
    reports.map((r) => r.models.map((m) => m.version)),
    [[], ['1'], [], ['1']],
    'each answers the state its own turn left',
  );
  t.equal(fake.sessions.length, 3, 'each load after an unload created a session');
  t.same(fake.sessions.map((s) => s.releases), [1, 1, 0]);
  await store.close();
});

t.test('calls are refused before start and after close', async (t) => {
  const { store } = setup();
  await t.rejects(store.load({ name: 'm' }), { code: 'GW_ERR_MODEL_NOT_READY' });
  await t.rejects(store.load({ name: '..' }), { code: 'GW_ERR_INVALID_REQUEST' });
  await store.start();
  await store.close();
  await t.rejects(store.unload('m'), { code: 'GW_ERR_SHUTTING_DOWN' });
});
