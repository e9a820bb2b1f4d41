// Poll mode (models.controlMode: poll): the repository is rescanned every
// pollIntervalSeconds, and each model whose files changed since the last scan
// is loaded again (a new or removed version directory, a replaced
// model.onnx, an edited config.yaml), a new model is loaded and a model whose
// directory went is unloaded, each through the same control actions as the
// API's. What changed is told by each file's size and modification time.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.ts';
import { scanModelRepository, type RepositoryModel } from '../../common/model-repository.ts';

/** What a model's files look like now: changes when any of its served files or its config.yaml change. */
export function modelFingerprint(repository: string, model: RepositoryModel): string {
  const stamp = (path: string): string => {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat ? `${stat.size}:${stat.mtimeMs}` : '-';
  };
  const versions = model.versions.map((v) => `${v.version}=${stamp(v.path)}`);
  return `${versions.join(',')};config=${stamp(join(repository, model.name, 'config.yaml'))}`;
}

/** The models to load again and those to unload, between two scans (name → fingerprint). Pure. */
export function repositoryChanges(before: ReadonlyMap<string, string>, now: ReadonlyMap<string, string>): { load: string[]; unload: string[] } {
  return {
    load: [...now].filter(([name, print]) => before.get(name) !== print).map(([name]) => name),
    unload: [...before.keys()].filter((name) => !now.has(name)),
  };
}

export type RepositoryWatchDeps = {
  repository: string;
  /** Only these models are watched (models.include); empty: every model. */
  include: readonly string[];
  intervalMs: number;
  load: (name: string) => Promise<void>;
  unload: (name: string) => Promise<void>;
  logger: Logger;
};

export class RepositoryWatch {
  readonly #deps: RepositoryWatchDeps;
  #last = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: RepositoryWatchDeps) {
    this.#deps = deps;
    this.#last = this.#scan();
  }

  start(): void {
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** One scan, and the loads and unloads it calls for (one after the other). */
  async poll(): Promise<void> {
    const now = this.#scan();
    const { load, unload } = repositoryChanges(this.#last, now);
    this.#last = now;
    for (const name of unload) await this.#act('unload', name, this.#deps.unload);
    for (const name of load) await this.#act('load', name, this.#deps.load);
  }

  async #act(action: string, name: string, call: (name: string) => Promise<void>): Promise<void> {
    this.#deps.logger.info({ action, model: name }, 'repository poll: model changed');
    try {
      await call(name);
    } catch (err) {
      this.#deps.logger.error({ action, model: name, err }, 'repository poll: action failed');
    }
  }

  #scan(): Map<string, string> {
    const { repository, include } = this.#deps;
    try {
      const models = scanModelRepository(repository, []).filter((m) => include.length === 0 || include.includes(m.name));
      return new Map(models.map((m) => [m.name, modelFingerprint(repository, m)]));
    } catch (err) {
      // An unreadable repository (a volume remounting) changes nothing: what serves keeps serving.
      this.#deps.logger.warn({ err }, 'repository poll: cannot scan the repository; what serves keeps serving');
      return this.#last;
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule());
    }, this.#deps.intervalMs);
    this.#timer.unref();
  }
}

/** Poll mode's watch over the configured repository, acting through the repository control. */
export function pollingWatch(
  models: { repository: string; include: readonly string[]; pollIntervalSeconds: number },
  control: { load: (name: string) => Promise<void>; unload: (name: string) => Promise<void> },
  logger: Logger,
): RepositoryWatch {
  return new RepositoryWatch({
    repository: models.repository,
    include: models.include,
    intervalMs: models.pollIntervalSeconds * 1000,
    load: (name) => control.load(name),
    unload: (name) => control.unload(name),
    logger,
  });
}
