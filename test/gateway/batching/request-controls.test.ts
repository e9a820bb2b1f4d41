import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { requestPriority, requestTimeoutMs, type ModelPlan } from '../../../gateway/batching/model-batching.ts';

const plan: ModelPlan = { batcher: undefined, axes: undefined, unbatchedReason: 'test', timeoutMs: 1000, priorityLevels: 3, defaultPriority: 2 };
const req = (headers: Record<string, string> = {}) => ({ headers }) as unknown as IncomingMessage;

t.test('a request names its priority by header or parameter; 1 is highest', async (t) => {
  t.equal(requestPriority(req(), undefined, plan), 2, 'the model default');
  t.equal(requestPriority(req({ 'x-infergate-priority': '1' }), undefined, plan), 1);
  t.equal(requestPriority(req(), { priority: 3 }, plan), 3);
  t.equal(requestPriority(req({ 'x-infergate-priority': '1' }), { priority: 3 }, plan), 1, 'the header wins');
  for (const bad of ['0', '4', '1.5', 'high']) {
    t.throws(() => requestPriority(req({ 'x-infergate-priority': bad }), undefined, plan), { code: 'GW_ERR_INVALID_REQUEST' }, `priority ${bad}`);
  }
});

t.test('a client may shorten its deadline, never lengthen it', async (t) => {
  t.equal(requestTimeoutMs(req(), undefined, plan), 1000);
  t.equal(requestTimeoutMs(req({ 'x-infergate-timeout-ms': '50' }), undefined, plan), 50);
  t.equal(requestTimeoutMs(req(), { timeout_ms: 20.5 }, plan), 20.5);
  t.equal(requestTimeoutMs(req({ 'x-infergate-timeout-ms': '5000' }), undefined, plan), 1000, 'capped at the model default');
  for (const bad of ['0', '-1', 'soon']) {
    t.throws(() => requestTimeoutMs(req({ 'x-infergate-timeout-ms': bad }), undefined, plan), { code: 'GW_ERR_INVALID_REQUEST' }, `timeout ${bad}`);
  }
});
