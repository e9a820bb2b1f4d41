import t from 'tap';
import { fnv1a, splitsToCandidate } from '../../../gateway/rollout/traffic-split.ts';
import { mulberry32 } from '../../../common/prng.ts';

t.test('FNV-1a matches its reference values', async (t) => {
  t.equal(fnv1a(''), 0x811c9dc5);
  t.equal(fnv1a('a'), 0xe40c292c);
  t.equal(fnv1a('foobar'), 0xbf9cf968);
});

t.test('a session stays on one version, and keeps the candidate as the percentage grows', async (t) => {
  const never = () => {
    throw new Error('a keyed request must not draw');
  };
  const sessions = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
  let previous = new Set<string>();
  for (const percent of [5, 25, 50]) {
    const onCandidate = new Set(sessions.filter((s) => splitsToCandidate(percent, s, never)));
    t.same(sessions.filter((s) => splitsToCandidate(percent, s, never) !== onCandidate.has(s)), [], `${percent} %: asked again, every session gets the same answer`);
    t.same([...previous].filter((s) => !onCandidate.has(s)), [], `${percent} %: no session left the candidate`);
    const share = onCandidate.size / sessions.length;
    t.ok(Math.abs(share - percent / 100) < 0.03, `${percent} %: ${(share * 100).toFixed(1)} % of sessions on the candidate`);
    previous = onCandidate;
  }
});

t.test('requests without a key draw; 0 % sends none', async (t) => {
  const random = mulberry32(7);
  let candidate = 0;
  for (let i = 0; i < 20_000; i++) if (splitsToCandidate(25, undefined, random)) candidate++;
  t.ok(Math.abs(candidate / 20_000 - 0.25) < 0.015, `${candidate} of 20000`);
  t.equal(splitsToCandidate(0, 'user-1', random), false);
  t.equal(splitsToCandidate(0, undefined, () => 0), false);
});
