import t from 'tap';
import { routableReplicas } from '../../../gateway/balancer/panic-mode.ts';

t.test('routing: usable replicas, or every ready one in panic mode', async (t) => {
  type R = { id: string; usable: boolean };
  const fleet = (...usable: boolean[]): R[] => usable.map((u, i) => ({ id: `r${i}`, usable: u }));
  const rows: Array<{ fleet: R[]; panicPercent: number; ids: string[]; panic: boolean }> = [
    { fleet: fleet(), panicPercent: 50, ids: [], panic: false },
    { fleet: fleet(true, true, true), panicPercent: 50, ids: ['r0', 'r1', 'r2'], panic: false },
    { fleet: fleet(true, false, true), panicPercent: 50, ids: ['r0', 'r2'], panic: false },
    { fleet: fleet(true, false, false), panicPercent: 50, ids: ['r0', 'r1', 'r2'], panic: true }, // 33% < 50%
    { fleet: fleet(true, false, false), panicPercent: 30, ids: ['r0'], panic: false },
    { fleet: fleet(false, false), panicPercent: 0, ids: ['r0', 'r1'], panic: true }, // none usable: spread, never fail all
    { fleet: fleet(false), panicPercent: 50, ids: ['r0'], panic: true },
    { fleet: fleet(true, false), panicPercent: 50, ids: ['r0'], panic: false }, // exactly at the threshold
  ];
  for (const row of rows) {
    const { replicas, panic } = routableReplicas(row.fleet, (r) => r.usable, row.panicPercent);
    t.same({ ids: replicas.map((r) => r.id), panic }, { ids: row.ids, panic: row.panic }, JSON.stringify(row.fleet.map((r) => r.usable)));
  }
});
