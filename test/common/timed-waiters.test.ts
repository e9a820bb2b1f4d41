// Waiters with a time limit: served, refused or left waiting by each wake, in
// the order they came; refused by their own timeout; all refused at once.

import t from 'tap';
import { TimedWaiters } from '../../common/timed-waiters.ts';

t.test('each wake serves, refuses or keeps each waiter; a timeout refuses one; rejectAll refuses the rest', async (t) => {
  const waiters = new TimedWaiters<string, number>({ unrefTimers: false });
  const a = waiters.wait('a', 10_000, () => new Error('a timed out'));
  const b = waiters.wait('b', 10_000, () => new Error('b timed out'));
  const c = waiters.wait('c', 10_000, () => new Error('c timed out'));
  const late = waiters.wait('late', 20, () => new Error('late timed out'));
  t.equal(waiters.count((key) => key !== 'late'), 3);
  const asked: string[] = [];
  waiters.wake((key) => {
    asked.push(key);
    return key === 'a' ? { value: 1 } : key === 'b' ? { error: new Error('b refused') } : undefined;
  });
  t.same(asked, ['a', 'b', 'c', 'late'], 'in the order they came');
  t.equal(await a, 1);
  await t.rejects(b, { message: 'b refused' });
  await t.rejects(late, { message: 'late timed out' });
  t.equal(waiters.size, 1, 'c still waits');
  waiters.rejectAll(new Error('closing'));
  await t.rejects(c, { message: 'closing' });
  t.equal(waiters.size, 0);
});
