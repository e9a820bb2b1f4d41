// The runs in flight on each loaded version, and a version's retirement:
//
//   serving ──store drops it from its table──▶ draining ──last run started on it ends──▶ session released
//
// The store removes a version from the table run() looks versions up in, and
// calls retire() in the same turn. run() looks a version up and hands its
// onnxruntime run to track() without awaiting in between, so once a version
// is out of the table no run can start on it: retire() only waits out the
// runs already started, then releases the session (its native memory) once.

import type { LoadedVersion } from './loaded-version.ts';

export class VersionRuns {
  readonly #running = new Map<LoadedVersion, Set<Promise<unknown>>>();
  readonly #retiring = new Set<Promise<void>>();

  /** Counts `run` as in flight on `version` until it settles; returns it unchanged. */
  track<T>(version: LoadedVersion, run: Promise<T>): Promise<T> {
    let runs = this.#running.get(version);
    if (!runs) this.#running.set(version, (runs = new Set()));
    runs.add(run);
    const done = (): void => {
      runs.delete(run);
      if (runs.size === 0 && this.#running.get(version) === runs) this.#running.delete(version);
    };
    // Both arms, so a failed run is not also an unhandled rejection here (the caller handles it).
    run.then(done, done);
    return run;
  }

  /** Runs in flight on `version`. */
  inFlight(version: LoadedVersion): number {
    return this.#running.get(version)?.size ?? 0;
  }

  /**
   * Releases the version's session once the runs in flight on it have ended. The caller has already made it
   * unreachable to new runs. Resolves once released; never rejects (a failed release leaves nothing to retry).
   */
  retire(version: LoadedVersion): Promise<void> {
    const retiring = (async () => {
      await Promise.allSettled(this.#running.get(version) ?? []);
      await version.session.release().catch(() => {});
    })();
    this.#retiring.add(retiring);
    void retiring.then(() => this.#retiring.delete(retiring));
    return retiring;
  }

  /** Resolves once every run in flight has ended and every retirement has released its session. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()].flatMap((runs) => [...runs]));
    await Promise.allSettled([...this.#retiring]);
  }
}
