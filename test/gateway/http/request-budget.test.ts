// The request byte budget: each request reserves its body × EXPANSION, a
// reservation that would overdraw the budget is refused (503 with
// Retry-After), a streamed body grows its reservation, and releasing gives
// the bytes back once.

import t from 'tap';
import { EXPANSION, RequestBudget } from '../../../gateway/http/request-budget.ts';

t.test('reserve, overdraw, grow and release', async (t) => {
  const budget = new RequestBudget(100 * EXPANSION);
  const a = budget.reserve(60);
  t.equal(budget.inUseBytes, 60 * EXPANSION);
  t.throws(() => budget.reserve(41), { code: 'GW_ERR_OVERLOADED', retryAfterSeconds: 1 }, 'would overdraw');
  t.equal(budget.inUseBytes, 60 * EXPANSION, 'a refused reservation takes nothing');
  const b = budget.reserve(0);
  b.grow(30);
  b.grow(20);
  t.equal(budget.inUseBytes, 90 * EXPANSION, 'growing to less is a no-op');
  t.throws(() => b.grow(41), { code: 'GW_ERR_OVERLOADED' }, 'growing past the budget');
  t.equal(budget.inUseBytes, 90 * EXPANSION);
  a.release();
  a.release();
  t.equal(budget.inUseBytes, 30 * EXPANSION, 'release is idempotent');
  b.release();
  b.grow(10);
  t.equal(budget.inUseBytes, 0, 'a released reservation grows no more');
  t.doesNotThrow(() => budget.reserve(100).release(), 'the whole budget, once free');
});

t.test('a request bigger than the whole budget is too large, not overload (fuzz: Content-Length 1e12)', async (t) => {
  const budget = new RequestBudget(100 * EXPANSION);
  t.throws(() => budget.reserve(1e12), { code: 'GW_ERR_BODY_TOO_LARGE', kind: 'too_large' }, 'cannot fit even in an empty budget');
  t.equal(budget.inUseBytes, 0);
  t.doesNotThrow(() => budget.reserve(100).release(), 'the whole budget');
  const a = budget.reserve(10);
  t.throws(() => budget.reserve(91), { code: 'GW_ERR_OVERLOADED' }, 'past what is left of it: overload');
  t.doesNotThrow(() => a.grow(100), 'the whole budget');
});
