// The messages between the leader and its front processes, over the IPC
// channel node's fork gives them (JSON, one object per message). Requests
// carry an id that the answer repeats.

import type { ProcessMetrics } from '../observability/metrics-exposition.ts';
import type { FleetMirror } from './fleet-mirror.ts';

export type { ProcessMetrics };

export type LeaderMessage =
  | { kind: 'mirror'; mirror: FleetMirror }
  | { kind: 'metrics'; id: number }
  | { kind: 'purge'; id: number; model: string; version?: string };

export type FrontMessage =
  | { kind: 'serving' }
  | { kind: 'ready' }
  | ({ kind: 'metrics'; id: number } & ProcessMetrics)
  | { kind: 'purged'; id: number };
