// The worker's infer path over a fake store: every frame, answered or failed, is told to the run observer once,
// with bounded labels (served), the client requests it carried and the timing its answer carries back; and the log
// line each run makes (run-log.ts).

import t from 'tap';
import { InfergateError } from '../../common/errors.ts';
import { decodeFrame, encodeFrame, type InferRequestHeader, type InferResponseHeader, type Tensor } from '../../common/wire.ts';
import type { InjectedFault } from '../../common/worker-options.ts';
import { InferPath } from '../../worker/infer-path.ts';
import type { RunRecord } from '../../worker/run-record.ts';
import { runLog } from '../../worker/run-log.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { FakeStore, type PendingRun } from './fake-store.ts';

function x(rows: number): Tensor {
  return { name: 'x', datatype: 'FP32', shape: [rows], data: new Uint8Array(rows * 4) };
}

function path(injectFault: InjectedFault = 'none') {
  const store = new FakeStore();
  store.on('run', (run: PendingRun) => run.release());
  const runs: RunRecord[] = [];
  const infer = new InferPath({ store, maxResponseBytes: 1 << 20, injectFault, onRun: (run) => runs.push(run) });
  return { infer, runs };
}

const frame = (header: Partial<InferRequestHeader>, tensors: Tensor[] = [x(3)]) => encodeFrame<InferRequestHeader>({ model: 'echo', version: '1', ...header }, tensors);

t.test('an answered frame: its record, and the timing in its answer', async (t) => {
  const { infer, runs } = path();
  const requests = [{ id: 'r1', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }, { id: 'r2' }];
  const { header } = decodeFrame<InferResponseHeader>(await infer.runFrame(frame({ requests })));
  t.same(header.timing, { inputMs: 0, inferMs: 0, outputMs: 0 }, "the store's timing goes back in the answer");
  t.equal(runs.length, 1);
  t.match(runs[0], { model: 'echo', version: '1', served: true, rows: 3, requests, timing: { inputMs: 0, inferMs: 0, outputMs: 0 } });
  t.notOk(runs[0]!.error);
  t.ok(runs[0]!.endMs >= runs[0]!.startMs);
  t.same(infer.stats().models['echo/1']?.runs, 1, 'counted in /stats');
});

t.test('failed frames: one record each, labelled only with what the worker serves', async (t) => {
  const cases: Array<[string, Uint8Array, InjectedFault, Partial<RunRecord>, string]> = [
    ['an unreadable frame', Buffer.from([200, 0, 0, 0, 1]), 'none', { model: '', version: '', served: false, rows: 0, requests: [] }, 'GW_ERR_BAD_FRAME'],
    ['requests that are not tags', frame({ requests: [{ id: 5 }] as never }), 'none', { model: '', served: false, requests: [] }, 'GW_ERR_BAD_FRAME'],
    ['an unknown model', frame({ model: 'nope', requests: [{ id: 'r' }] }), 'none', { model: 'nope', version: '1', served: false, rows: 3, requests: [{ id: 'r' }] }, 'GW_ERR_MODEL_NOT_FOUND'],
    ['no version named: the latest', frame({ version: '' }), 'infer-errors', { model: 'echo', version: '1', served: true }, 'GW_ERR_INJECTED_FAULT'],
    ['a version not served', frame({ version: '9' }), 'infer-errors', { model: 'echo', version: '9', served: false }, 'GW_ERR_INJECTED_FAULT'],
    ['expired before its turn', frame({ timeoutMs: 0 }), 'none', { model: 'echo', version: '1', served: true }, 'GW_ERR_DEADLINE_EXCEEDED'],
  ];
  for (const [name, body, fault, expected, code] of cases) {
    const { infer, runs } = path(fault);
    await t.rejects(infer.runFrame(body, performance.now() - 5), { code }, `${name}: throws ${code}`);
    t.equal(runs.length, 1, `${name}: one record`);
    t.match(runs[0], { ...expected, error: { code } }, name);
    t.equal(runs[0]!.timing, undefined, `${name}: not timed`);
  }
});

t.test('the KServe route’s backend is counted and observed too, without requests', async (t) => {
  const { infer, runs } = path();
  const result = await infer.backend.run('echo', '1', [x(2)]);
  t.same(result.version, '1');
  t.match(runs, [{ model: 'echo', version: '1', served: true, rows: 2, requests: [] }]);
  t.equal(infer.stats().models['echo/1']?.rows, 2);
  t.equal(infer.backend.state, 'ready');
});

t.test('the run log: a debug line per answered run, a warn line per failed one; nothing at info for a good run', async (t) => {
  const base: RunRecord = { model: 'echo', version: '1', served: true, rows: 2, requests: [{ id: 'r1', traceparent: 'tp' }, { id: 'r2' }], startMs: 0, endMs: 1 };
  const debug = captureLogger({ level: 'debug', bindings: { process: 'worker', worker: 'worker-1' } });
  const log = runLog(debug.logger);
  log({ ...base, timing: { inputMs: 0.1, inferMs: 1.5, outputMs: 0.2 } });
  log({ ...base, error: new InfergateError('GW_ERR_SHAPE_MISMATCH', 'input x has shape [2]') });
  const [ok, failed] = debug.lines();
  t.match(ok, { level: 'debug', msg: 'run', worker: 'worker-1', requestIds: ['r1', 'r2'], model: 'echo', version: '1', rows: 2, timing: { inputMs: 0.1, inferMs: 1.5, outputMs: 0.2 } });
  t.match(failed, { level: 'warn', msg: 'run failed', requestIds: ['r1', 'r2'], model: 'echo', code: 'GW_ERR_SHAPE_MISMATCH' });
  t.notOk('message' in failed! || 'err' in failed!, "the error's message is not logged (it may quote the input)");

  const info = captureLogger({ level: 'info' });
  runLog(info.logger)({ ...base, timing: { inputMs: 0, inferMs: 0, outputMs: 0 } });
  t.same(info.lines(), [], 'nothing at info');
});
