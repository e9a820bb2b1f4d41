// Admin actions shared with a fleet: published only when they succeed here,
// taken as published, and only well-formed actions are read off the channel.

import t from 'tap';
import { parseAction, publishingTargets, takeAction, type AdminTargets, type FleetAction } from '../../../gateway/fleet/fleet-actions.ts';

function targets(calls: string[]): AdminTargets {
  return {
    scaling: {
      scale: (model, replicas) => {
        if (replicas < 0) throw new Error('replicas: expected 0 or more');
        calls.push(`scale ${model} ${replicas}`);
        return { model, desiredReplicas: replicas } as never;
      },
      status: () => ({}),
    },
    rollouts: {
      start: (model, plan) => (calls.push(`start ${model} ${JSON.stringify(plan)}`), {}),
      status: () => ({}),
      abort: (model, reason) => (calls.push(`abort ${model}${reason?.includes('which rolled back') ? ' (rolled back there)' : ''}`), {}),
    },
    repository: {
      index: () => [],
      load: async (model) => {
        if (model === 'missing') throw new Error('not in the repository');
        calls.push(`load ${model}`);
      },
      unload: async (model) => void calls.push(`unload ${model}`),
    },
  };
}

t.test('each action taken here is published once it succeeded, and taken elsewhere as published', async (t) => {
  const here: string[] = [];
  const published: FleetAction[] = [];
  const admin = publishingTargets(targets(here), (action) => published.push(action));
  admin.scaling.scale('m', 3);
  t.throws(() => admin.scaling.scale('m', -1));
  admin.rollouts.start('m', { version: '2' });
  admin.rollouts.abort('m');
  await admin.repository.load('m');
  await t.rejects(admin.repository.load('missing'));
  await admin.repository.unload('m');
  t.same(admin.repository.index(), []);
  t.same(published.map((a) => a.kind), ['scale', 'rolloutStart', 'rolloutAbort', 'load', 'unload'], 'refused actions are not published');

  const there: string[] = [];
  for (const action of published) await takeAction(targets(there), parseAction(JSON.parse(JSON.stringify(action)))!);
  t.same(there, here, 'the other gateway takes the same actions');
});

t.test('only well-formed actions are read off the channel', async (t) => {
  t.same(parseAction({ kind: 'scale', model: 'm', replicas: 2 }), { kind: 'scale', model: 'm', replicas: 2 });
  for (const junk of [null, 'scale', {}, { kind: 'scale', model: 'm' }, { kind: 'drop', model: 'm' }, { kind: 'load', model: 7 }]) t.equal(parseAction(junk), null, JSON.stringify(junk));
});
