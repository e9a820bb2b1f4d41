import t from 'tap';
import { nextReplicaState, type ReplicaEvent, type ReplicaState } from '../../../gateway/replicas/replica-state.ts';

t.test('replica lifecycle transitions', async (t) => {
  const table: Array<[ReplicaState, ReplicaEvent, ReplicaState | undefined]> = [
    ['starting', 'ready', 'ready'],
    ['starting', 'drain', 'draining'],
    ['starting', 'exit', 'stopped'],
    ['starting', 'restart', undefined],
    ['ready', 'ready', undefined],
    ['ready', 'drain', 'draining'],
    ['ready', 'exit', 'stopped'],
    ['ready', 'restart', undefined],
    ['draining', 'ready', undefined],
    ['draining', 'drain', undefined],
    ['draining', 'exit', 'stopped'],
    ['stopped', 'ready', undefined],
    ['stopped', 'drain', undefined],
    ['stopped', 'exit', 'stopped'],
    ['stopped', 'restart', 'starting'],
  ];
  for (const [from, event, to] of table) t.equal(nextReplicaState(from, event), to, `${from} --${event}-->`);
});
