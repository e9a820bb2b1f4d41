// The steps of a live model load (worker/load-plan.ts), as a table: what the
// worker holds and what the repository has now → the steps, in order.

import t from 'tap';
import { planModelLoad, type WantedVersion } from '../../worker/load-plan.ts';

const present = (version: string, fingerprint?: string): WantedVersion => ({ version, present: true, fingerprint });
const gone = (version: string): WantedVersion => ({ version, present: false, fingerprint: undefined });

const cases: Array<[string, Record<string, string>, WantedVersion[], string[]]> = [
  ['nothing held: every wanted version loads', {}, [present('2'), present('1')], ['load 1', 'load 2']],
  ['unchanged fingerprint: untouched', { 1: 'a' }, [present('1', 'a')], []],
  ['changed fingerprint: reload', { 1: 'a' }, [present('1', 'b')], ['reload 1']],
  ['held, file now unreadable: reload (which keeps the held one on failure)', { 1: 'a' }, [present('1')], ['reload 1']],
  ['1 → 2: the new one loads before the old one retires', { 1: 'a' }, [present('2')], ['load 2', 'retire 1']],
  ['a held version whose directory is gone retires, then records why', { 1: 'a', 2: 'b' }, [present('1', 'a'), gone('2')], ['retire 2', 'load 2']],
  ['a wanted version never held and not there: load (records why)', {}, [gone('3')], ['load 3']],
  ['nothing wanted: every held version retires, ascending', { 10: 'a', 9: 'b' }, [], ['retire 9', 'retire 10']],
  [
    'mixed',
    { 1: 'a', 2: 'b', 3: 'c' },
    [present('2', 'b'), present('3', 'x'), present('4'), gone('5')],
    ['reload 3', 'load 4', 'retire 1', 'load 5'],
  ],
];

for (const [name, held, wanted, steps] of cases) {
  t.same(
    planModelLoad(new Map(Object.entries(held)), wanted).map((s) => `${s.kind} ${s.version}`),
    steps,
    name,
  );
}
