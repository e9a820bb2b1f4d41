// What the worker knows of one frame once it ran (or failed): the one record
// its log line, its metrics and its span are made from, after the fact, so
// none of them runs inside the infer path itself.

import type { InfergateError } from '../common/errors.ts';
import type { RequestTag, WorkerTiming } from '../common/wire.ts';

export type RunRecord = {
  /** The model the frame named ('' when the frame could not be read). */
  model: string;
  /** The version that ran, or the one the frame named when it failed. */
  version: string;
  /**
   * Whether the worker serves `model` / `version` (the version a frame naming none would run, for ''): only then
   * are they metric labels, so that the labels stay bounded whatever a frame names.
   */
  served: boolean;
  /** The first input's first dim (the batch's rows); 0 when the frame could not be read. */
  rows: number;
  /** The client requests the frame carried (several in a batch); [] when the gateway sent none. */
  requests: readonly RequestTag[];
  /** performance.now() when the frame's turn came and when its answer (or error) was ready. */
  startMs: number;
  endMs: number;
  /** Where the run's time went; present when it answered. */
  timing?: WorkerTiming;
  /** Why it failed; absent when it answered. */
  error?: InfergateError;
};

/** Told of every frame the worker ran or refused. */
export type RunObserver = (run: RunRecord) => void;

/** One observer telling each of `observers` in turn. */
export function allObservers(observers: ReadonlyArray<RunObserver | undefined>): RunObserver {
  const each = observers.filter((o) => o !== undefined);
  return (run) => {
    for (const observer of each) observer(run);
  };
}
