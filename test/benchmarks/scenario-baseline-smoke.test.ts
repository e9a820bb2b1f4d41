// overhead and batching against a baseline, end to end through the CLI with
// tiny durations: this checkout serves as its own baseline (--baseline at the
// repository root), so both gateways start from the same code. Its own file:
// two gateways per variant would push scenarios-smoke.test.ts past tap's
// per-file timeout on a loaded 2-core machine.

import t, { type Test } from 'tap';
import { fileURLToPath } from 'node:url';
import { smokeScenario, smokeWorkspace, type SmokeCase } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tiny = ['--baseline', ROOT, '--rounds', '2', '--connections', '2', '--replicas', '1', '--duration', '0.3', '--warmup', '0', '--quiet'];

const againstBaseline = (t: Test, highlights: string[], sections: string[] | undefined): void => {
  t.ok(highlights.some((h) => /gateway-process CPU per request .* µs \(gateway[^)]*\) vs .* µs \(baseline[^)]*\)/.test(h)), 'both gateways\' CPU per request');
  t.ok(sections?.some((s) => s.startsWith('**Gateway vs baseline** (medians of 2 interleaved rounds')), 'a table of medians and paired ratios');
};

const CASES: SmokeCase[] = [
  {
    name: 'overhead',
    args: tiny,
    expect: (t, r) => {
      t.same(r.runs.map((x) => `${x.round} ${x.system}`), ['1 gateway', '1 baseline', '2 baseline', '2 gateway'], 'interleaved, the first rotating');
      t.ok(r.notes.some((n) => n.startsWith(`baseline: the gateway from ${ROOT.replace(/\/$/, '')}`)), 'the baseline named in the notes');
      againstBaseline(t, r.highlights, r.sections);
    },
  },
  {
    name: 'batching',
    args: tiny,
    expect: (t, r) => {
      const variants = (model: string, v: string): string[] => [`${model} 1 gateway batching ${v}`, `${model} 1 baseline batching ${v}`, `${model} 2 baseline batching ${v}`, `${model} 2 gateway batching ${v}`];
      t.same(r.runs.map((x) => `${x.model} ${x.round} ${x.system}`), [...variants('classifier', 'off'), ...variants('classifier', 'on'), ...variants('heavy', 'off'), ...variants('heavy', 'on')]);
      againstBaseline(t, r.highlights, r.sections);
      t.ok(r.highlights.some((h) => h.startsWith('**heavy, batching on, closed, 2 conn**')), 'a line per model and variant');
    },
  },
];

const dirs = smokeWorkspace(t);

for (const scenario of CASES) {
  t.test(`scenario ${scenario.name} against a baseline writes a valid report`, (t) => smokeScenario(t, scenario, dirs));
}
