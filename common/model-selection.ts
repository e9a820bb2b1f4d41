// The text form of a worker's --model flag: a model directory's name, and
// after a colon the versions to load, if not all of them:
//
//   classifier        every version in <models>/classifier/
//   classifier:1,3    versions 1 and 3 only
//
// Only canonical positive integers make a version list (`:[1-9]\d*(,…)*` at
// the end), so any other colon stays part of the name.

import { isVersionName, type ModelSelection } from './model-repository.ts';

const VERSION_LIST = /:([1-9]\d*(?:,[1-9]\d*)*)$/;

/** `name` or `name:v1,v2` as a ModelSelection. Throws RangeError when the name is not one directory. */
export function parseModelSelection(text: string): ModelSelection {
  const list = VERSION_LIST.exec(text);
  const name = list ? text.slice(0, list.index) : text;
  // A model name is one directory below the repository root.
  if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name)) throw new RangeError(`"${name}" is not a model directory name`);
  return list ? { name, versions: [...new Set(list[1]!.split(','))] } : { name };
}

/** The inverse of parseModelSelection. Throws RangeError for a selection it would not read back as given. */
export function formatModelSelection(selection: ModelSelection): string {
  const { name, versions } = selection;
  if (versions === undefined) {
    if (VERSION_LIST.test(name)) throw new RangeError(`model "${name}" ends like a version list; name its versions to select it`);
    return name;
  }
  if (versions.length === 0 || !versions.every(isVersionName)) {
    throw new RangeError(`model "${name}": versions [${versions.join(', ')}] are not one or more positive integers`);
  }
  return `${name}:${versions.join(',')}`;
}

/** One selection per model, in order of first mention: a bare name takes every version, otherwise the versions named add up. */
export function mergeModelSelections(selections: readonly ModelSelection[]): ModelSelection[] {
  const versionsByName = new Map<string, Set<string> | 'every'>();
  for (const { name, versions } of selections) {
    const known = versionsByName.get(name);
    if (known === 'every') continue;
    versionsByName.set(name, versions === undefined ? 'every' : new Set([...(known ?? []), ...versions]));
  }
  return [...versionsByName].map(([name, versions]) => (versions === 'every' ? { name } : { name, versions: [...versions] }));
}
