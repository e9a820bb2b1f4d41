import t from 'tap';
import { askedPriority, askedTimeoutMs, askedTimeoutUs, type ControlLimits } from '../../../gateway/infer/request-controls.ts';

const plan: ControlLimits = { timeoutMs: 1000, priorityLevels: 3 };

t.test('a request asks for a priority from 1 (highest) to the model\'s levels', async (t) => {
  t.equal(askedPriority(undefined, plan), undefined, 'none asked');
  t.equal(askedPriority('1', plan), 1, 'a header text');
  t.equal(askedPriority(3, plan), 3, 'a parameter value');
  for (const bad of ['0', '4', '1.5', 'high', '', true, null, [1]]) {
    t.throws(() => askedPriority(bad, plan), { code: 'GW_ERR_INVALID_REQUEST' }, `priority ${JSON.stringify(bad)}`);
  }
});

t.test('a client may shorten its deadline, never lengthen it', async (t) => {
  t.equal(askedTimeoutMs(undefined, plan), undefined);
  t.equal(askedTimeoutMs('50', plan), 50);
  t.equal(askedTimeoutMs(20.5, plan), 20.5);
  t.equal(askedTimeoutMs('5000', plan), 1000, 'capped at the model default');
  for (const bad of ['0', '-1', 'soon', '', false, null]) {
    t.throws(() => askedTimeoutMs(bad, plan), { code: 'GW_ERR_INVALID_REQUEST' }, `timeout ${JSON.stringify(bad)}`);
  }
});

t.test("Triton's timeout parameter is microseconds, capped as timeout_ms; 0 asks for none", async (t) => {
  t.equal(askedTimeoutUs(undefined, plan), undefined);
  t.equal(askedTimeoutUs(0, plan), undefined, "0: the model's default, as in Triton");
  t.equal(askedTimeoutUs(50_000, plan), 50);
  t.equal(askedTimeoutUs(1500, plan), 1.5);
  t.equal(askedTimeoutUs(5_000_000, plan), 1000, 'capped at the model default');
  for (const bad of [-1, 1.5, '50000', true, null, Number.MAX_VALUE]) {
    t.throws(() => askedTimeoutUs(bad, plan), { code: 'GW_ERR_INVALID_REQUEST', message: /"timeout" must be a whole number of microseconds/ }, `timeout ${JSON.stringify(bad)}`);
  }
});

t.test('a long value is cut in the message', async (t) => {
  let message = '';
  try {
    askedPriority('x'.repeat(10_000), plan);
  } catch (err) {
    message = (err as Error).message;
  }
  t.ok(message.length > 0 && message.length < 300, `${message.length} characters`);
});
