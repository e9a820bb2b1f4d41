// The --baseline checkout is checked before anything starts, and a scenario
// compares gateway and baseline only when both are among its systems.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baselineNote, baselineProblem, comparesWithBaseline } from '../../benchmarks/lib/baseline.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

t.test('a baseline needs bin/infergate.ts and node_modules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-baseline-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.match(baselineProblem(dir), /not a checkout of infergate/);
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'infergate.ts'), '');
  t.match(baselineProblem(dir), /no node_modules/);
  mkdirSync(join(dir, 'node_modules'));
  t.equal(baselineProblem(dir), null);
  t.equal(baselineProblem(ROOT), null, 'this checkout would do');
});

t.test('the note names the baseline and its commit', async (t) => {
  t.match(baselineNote(ROOT), new RegExp(`^baseline: the gateway from ${ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, (commit [0-9a-f]{10}|unknown commit)`));
});

t.test('gateway and baseline are compared when both are among the systems', async (t) => {
  const table: [Parameters<typeof comparesWithBaseline>[0], boolean][] = [
    [['gateway', 'baseline'], true],
    [['baseline', 'hello', 'gateway'], true],
    [['gateway', 'nginx'], false],
    [['baseline'], false],
  ];
  for (const [systems, expected] of table) t.equal(comparesWithBaseline(systems), expected, systems.join(','));
});
