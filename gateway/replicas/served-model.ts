// What a replica is placed to serve: a model, and either every version of it
// or only some (a canary runs the new version on a subset of replicas). The
// text form is the worker's --model flag and the static list's entries:
//
//   classifier        every version
//   classifier:2      only version 2
//   classifier:1,2    versions 1 and 2

export type ServedModel = { name: string; versions: readonly string[] | undefined };

/** A version list is recognised only in this form, so a model name may still hold a ':'. */
const VERSIONS_SUFFIX = /:([1-9]\d*(?:,[1-9]\d*)*)$/;

export function parseServedModel(text: string): ServedModel {
  const match = VERSIONS_SUFFIX.exec(text);
  if (!match) return { name: text, versions: undefined };
  return { name: text.slice(0, match.index), versions: [...new Set(match[1]!.split(','))] };
}

export function formatServedModel(served: ServedModel): string {
  return served.versions === undefined ? served.name : `${served.name}:${served.versions.join(',')}`;
}

/** Every version of each named model. */
export function everyVersionOf(models: readonly string[]): ServedModel[] {
  return models.map((name) => ({ name, versions: undefined }));
}
