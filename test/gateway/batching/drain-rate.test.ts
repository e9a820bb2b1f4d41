import t from 'tap';
import { DrainRate } from '../../../gateway/batching/drain-rate.ts';

t.test('rows per ms of busy time; nothing known before 1 ms of backlog', async (t) => {
  const rate = new DrainRate(1_000);
  t.equal(rate.rowsPerMs(), null);
  rate.observe(64, 0.5);
  t.equal(rate.rowsPerMs(), null, 'half a millisecond of backlog says nothing yet');
  rate.observe(64, 3.5);
  t.ok(Math.abs(rate.rowsPerMs()! - 128 / 4) < 0.5, `${rate.rowsPerMs()} ≈ 32 rows/ms`);
});

t.test('follows a change of service rate within a few windows', async (t) => {
  const rate = new DrainRate(100);
  for (let i = 0; i < 100; i++) rate.observe(10, 1); // 10 rows/ms
  t.ok(Math.abs(rate.rowsPerMs()! - 10) < 0.01);
  for (let i = 0; i < 500; i++) rate.observe(10, 5); // slows to 2 rows/ms
  t.ok(Math.abs(rate.rowsPerMs()! - 2) < 0.05, `now ${rate.rowsPerMs()}`);
});
