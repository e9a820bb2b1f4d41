// What ran in one worker, per "<model>/<version>", as GET /stats reports it:
// runs, rows, runs by rows per run (so tests and operators can see batches
// arrive), failures, and requests dropped unrun because their deadline passed.

import type { WorkerModelStats, WorkerStatsBody } from '../common/worker-control.ts';

export class RunStats {
  readonly #byVersion = new Map<string, WorkerModelStats>();

  /** Runs `run` (one inference of `rows` rows) and records it under the version that ran, or failed. */
  async count<T extends { version: string }>(model: string, version: string, rows: number, run: () => Promise<T>): Promise<T> {
    let result: T | undefined;
    try {
      result = await run();
      return result;
    } finally {
      const stats = this.#of(model, result?.version ?? version);
      stats.runs++;
      if (result) {
        stats.rows += rows;
        stats.runsByRows[rows] = (stats.runsByRows[rows] ?? 0) + 1;
      } else stats.failures++;
    }
  }

  /** Records a request dropped unrun: its deadline passed before its turn. */
  expired(model: string, version: string): void {
    this.#of(model, version).expired++;
  }

  /** The GET /stats body. */
  snapshot(): WorkerStatsBody {
    return { models: Object.fromEntries(this.#byVersion) };
  }

  #of(model: string, version: string): WorkerModelStats {
    const key = `${model}/${version}`;
    let stats = this.#byVersion.get(key);
    if (!stats) this.#byVersion.set(key, (stats = { runs: 0, rows: 0, runsByRows: {}, failures: 0, expired: 0 }));
    return stats;
  }
}
