// The messages between the leader and its front processes, over the IPC
// channel node's fork gives them (JSON, one object per message). Requests
// carry an id that the answer repeats.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { FleetMirror } from './fleet-mirror.ts';

/** One process's metrics registry as prom-client JSON, named by its process label ("leader", "front-1", …). */
export type ProcessMetrics = { process: string; metrics: Array<MetricObjectWithValues<MetricValue<string>>> };

export type LeaderMessage =
  | { kind: 'mirror'; mirror: FleetMirror }
  | { kind: 'metrics'; id: number }
  | { kind: 'purge'; id: number; model: string; version?: string };

export type FrontMessage =
  | { kind: 'serving' }
  | { kind: 'ready' }
  | ({ kind: 'metrics'; id: number } & ProcessMetrics)
  | { kind: 'purged'; id: number };
