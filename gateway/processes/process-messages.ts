// The messages between the leader and its front processes, over the IPC
// channel node's fork gives them (JSON, one object per message). Requests
// carry an id that the answer repeats.

import type { ModelStatsBody } from '../observability/inference-stats.ts';
import type { ProcessMetrics } from '../observability/metrics-exposition.ts';
import type { FleetMirror } from './fleet-mirror.ts';

export type { ProcessMetrics };

export type LeaderMessage =
  | { kind: 'mirror'; mirror: FleetMirror }
  | { kind: 'metrics'; id: number }
  | { kind: 'stats'; id: number; model?: string; version?: string }
  | { kind: 'purge'; id: number; model: string; version?: string };

export type FrontMessage =
  | { kind: 'serving' }
  | { kind: 'ready' }
  | ({ kind: 'metrics'; id: number } & ProcessMetrics)
  | { kind: 'purged'; id: number }
  /** `body` null: the front could not answer (the model or version is not its to know yet). */
  | { kind: 'stats'; id: number; body: ModelStatsBody | null };
