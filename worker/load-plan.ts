// What a live load of one model does (ModelStore.load), decided from the
// versions the worker holds and what the repository has now. Pure: the store
// does the I/O (scan, SHA-256) before and the steps after.
//
//   wanted version in the repository now      held?  step
//   ────────────────────────────────────────  ─────  ─────────────────────────────────────────────
//   model.onnx present                        no     load    (unavailable with its reason on failure)
//   same fingerprint as the held session      yes    none    (untouched: not reloaded)
//   another fingerprint, or no readable file  yes    reload  (swapped in once warmed up; on failure the
//                                                             held session keeps serving, with a warning)
//   version directory gone                    yes    retire, then load (which records why it is unavailable)
//   version directory gone                    no     load    (records why it is unavailable)
//   held but not wanted any more              yes    retire
//
// Order: loads and reloads of present versions (ascending), then retirements,
// then loads of versions that are gone. Loading before retiring keeps a model
// moving from version 1 to version 2 answering requests for its latest
// version throughout.

import { compareVersions } from '../common/model-repository.ts';

export type WantedVersion = {
  version: string;
  /** The version directory exists. */
  present: boolean;
  /** SHA-256 of its model.onnx now; undefined when there is no readable file (or it was not needed: not held). */
  fingerprint: string | undefined;
};

export type LoadStep = { kind: 'load' | 'reload' | 'retire'; version: string };

/** `held`: version → fingerprint of each version the worker serves now. */
export function planModelLoad(held: ReadonlyMap<string, string>, wanted: readonly WantedVersion[]): LoadStep[] {
  const ascending = [...wanted].sort((a, b) => compareVersions(a.version, b.version));
  const loads: LoadStep[] = [];
  const retires: LoadStep[] = [];
  const gone: LoadStep[] = [];
  for (const { version, present, fingerprint } of ascending) {
    const heldFingerprint = held.get(version);
    if (!present) {
      if (heldFingerprint !== undefined) retires.push({ kind: 'retire', version });
      gone.push({ kind: 'load', version });
    } else if (heldFingerprint === undefined) {
      loads.push({ kind: 'load', version });
    } else if (fingerprint !== heldFingerprint) {
      loads.push({ kind: 'reload', version });
    }
  }
  const wantedNames = new Set(wanted.map((w) => w.version));
  const unwanted = [...held.keys()].filter((version) => !wantedNames.has(version)).sort(compareVersions);
  for (const version of unwanted) retires.push({ kind: 'retire', version });
  retires.sort((a, b) => compareVersions(a.version, b.version));
  return [...loads, ...retires, ...gone];
}
