// The progress line: redrawn in place on a TTY, one line per second
// otherwise, nothing when quiet.

import t from 'tap';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { ProgressLine } from '../../benchmarks/lib/progress.ts';

function stream(isTTY: boolean): PassThrough & { isTTY: boolean; text: () => string } {
  const s = Object.assign(new PassThrough(), { isTTY, text: (): string => '' });
  let text = '';
  s.on('data', (c: Buffer) => (text += c));
  s.text = () => text;
  return s;
}

t.test('on a TTY the line is drawn at once, in place, and cleared on stop', async (t) => {
  const out = stream(true);
  const p = new ProgressLine({ stream: out });
  p.start('gateway closed, 16 conn', 10, () => ({ elapsedS: 2.5, responses: 5000, errors: 1, non2xx: 2 }));
  p.stop();
  await new Promise((resolve) => setImmediate(resolve));
  t.match(out.text(), /^\r\x1b\[K {2}gateway closed, 16 conn █{5}░{15} 2\.5\/10 s {2}2000 req\/s {2}5000 answered {2}errors 1 {2}non-2xx 2\r\x1b\[K$/);
});

t.test('without a TTY, whole lines; notes go between them', async (t) => {
  const out = stream(false);
  const p = new ProgressLine({ stream: out });
  p.note('gateway: starting…');
  p.start('probe 100/s', 5, () => ({ elapsedS: 1, responses: 100, errors: 0, non2xx: 0 }));
  // The progress timer is unref'ed (it must never keep a process alive); hold the loop open meanwhile.
  const hold = setInterval(() => {}, 1000);
  await once(out, 'data');
  clearInterval(hold);
  p.stop();
  const lines = out.text().split('\n');
  t.equal(lines[0], 'gateway: starting…');
  t.match(lines[1], /^ {2}probe 100\/s 1\.0\/5\.0 s {2}100 req\/s {2}100 answered {2}errors 0 {2}non-2xx 0$/);
  t.notMatch(out.text(), '\r');
});

t.test('quiet writes nothing', async (t) => {
  const out = stream(true);
  const p = new ProgressLine({ stream: out, quiet: true });
  p.note('x');
  p.start('y', 1, () => ({ elapsedS: 0, responses: 0, errors: 0, non2xx: 0 }));
  p.stop();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(out.text(), '');
});
