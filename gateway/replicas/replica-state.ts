// A replica's lifecycle is one field with one transition function:
//
//   starting ──ready──▶ ready ──drain──▶ draining
//      │  ╲               │                 │
//      │   ╲──drain──▶ draining             │
//      └──────exit────────┴──────exit───────┴──▶ stopped ──restart──▶ starting
//
// Only `ready` replicas are ever offered to the balancer.

export type ReplicaState = 'starting' | 'ready' | 'draining' | 'stopped';
export type ReplicaEvent = 'ready' | 'drain' | 'exit' | 'restart';

const TRANSITIONS: Record<ReplicaState, Partial<Record<ReplicaEvent, ReplicaState>>> = {
  starting: { ready: 'ready', drain: 'draining', exit: 'stopped' },
  ready: { drain: 'draining', exit: 'stopped' },
  draining: { exit: 'stopped' },
  stopped: { restart: 'starting', exit: 'stopped' },
};

/** The next state, or undefined when the event does not apply in this state. */
export function nextReplicaState(state: ReplicaState, event: ReplicaEvent): ReplicaState | undefined {
  return TRANSITIONS[state][event];
}
