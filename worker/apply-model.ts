// Brings the versions a worker holds of one model to what a fresh scan of the
// repository says (ModelStore's start and load): fingerprints the held
// versions' files, asks load-plan.ts for the steps, and carries them out.
//
// A step's fault stays the version's: a new version that fails is
// unavailable with its reason; a replaced file that fails leaves the session
// already serving in place, with a warning (a reload never turns a working
// version into a failed one). Sessions replaced or retired are released once
// the runs started on them end (version-runs.ts).

import { MODEL_FILE, type RepositoryModel, type RepositoryVersion } from '../common/model-repository.ts';
import type { UnavailableVersion, VersionWarning } from '../common/wire.ts';
import { fingerprintOf, type VersionLoad } from './load-version.ts';
import { planModelLoad, type WantedVersion } from './load-plan.ts';
import type { VersionRuns } from './version-runs.ts';
import type { VersionTable } from './version-table.ts';

export type ModelProblem = { kind: 'unavailable'; version: UnavailableVersion } | { kind: 'warning'; warning: VersionWarning };

export type ApplyModelContext = {
  table: VersionTable;
  runs: VersionRuns;
  /** Loads one version (load-version.ts with the store's session factory and options). */
  loadVersion: (model: RepositoryModel, file: RepositoryVersion, knownFingerprint: string | undefined) => Promise<VersionLoad>;
  /** Told of every version found unavailable and every warning; the table is already updated. */
  onProblem: (problem: ModelProblem) => void;
  /** True once the store is closing: the remaining steps are skipped. */
  closed: () => boolean;
};

/** Resolves once every step is done and the sessions it replaced or retired are released. */
export async function applyModel(model: RepositoryModel, context: ApplyModelContext): Promise<void> {
  const { table, runs } = context;
  const { name } = model;
  const held = table.versionsOf(name);
  const wantedVersions = new Set(model.versions.map((v) => v.version));
  // An unavailable version no longer wanted is simply forgotten.
  for (const version of table.knownVersions(name)) if (!wantedVersions.has(version) && !held.has(version)) table.remove(name, version);
  const heldFingerprints = new Map([...held].map(([version, loaded]) => [version, loaded.signature.fingerprint]));
  const wanted = await Promise.all(
    model.versions.map(async (file): Promise<WantedVersion> => {
      const compare = held.has(file.version) && !file.missing;
      return { version: file.version, present: !file.noDirectory, fingerprint: compare ? await fingerprintOf(file.path).catch(() => undefined) : undefined };
    }),
  );
  const released: Promise<void>[] = [];
  for (const step of planModelLoad(heldFingerprints, wanted)) {
    // close() may have been called while the previous session loaded.
    if (context.closed()) break;
    if (step.kind === 'retire') {
      released.push(retireVersion(table, runs, name, step.version));
      continue;
    }
    const file = model.versions.find((v) => v.version === step.version)!;
    const outcome = await context.loadVersion(model, file, wanted.find((w) => w.version === step.version)?.fingerprint);
    if ('reason' in outcome) {
      const current = table.versionsOf(name).get(step.version);
      const problem: ModelProblem = current
        ? { kind: 'warning', warning: { name, version: step.version, message: `${outcome.reason}; still serving the previous ${MODEL_FILE} (fingerprint ${current.signature.fingerprint})` } }
        : { kind: 'unavailable', version: { name, version: step.version, reason: outcome.reason } };
      if (problem.kind === 'unavailable') table.markUnavailable(problem.version);
      else table.warn(problem.warning);
      context.onProblem(problem);
      continue;
    }
    // One synchronous swap: a run looks up either the old session or the new one, never neither.
    const previous = table.serve(outcome.loaded, outcome.warning);
    if (outcome.warning !== undefined) context.onProblem({ kind: 'warning', warning: { name, version: step.version, message: outcome.warning } });
    if (previous) released.push(runs.retire(previous));
  }
  await Promise.all(released);
}

/** Takes a version out of service now; resolves once its runs ended and its session was released. */
export function retireVersion(table: VersionTable, runs: VersionRuns, name: string, version: string): Promise<void> {
  const loaded = table.remove(name, version);
  return loaded ? runs.retire(loaded) : Promise.resolve();
}
