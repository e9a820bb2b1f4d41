// Finds the model files a worker should load in a model repository:
//
//   <modelsDir>/<name>/<version>/model.onnx      version: a positive integer
//
// Other entries (config.yaml, README, dot-directories, "latest" links) are not
// versions and are skipped. A model named with --model must exist and have at
// least one version; a version directory without model.onnx is an error
// rather than a silent gap in what the worker serves.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export type ModelVersionFile = { name: string; version: string; path: string };

export const MODEL_FILE = 'model.onnx';

/** Canonical positive integers only: "01" would be a second name for version 1. */
const VERSION_NAME = /^[1-9]\d*$/;

/** The model versions to load, sorted by model name then numeric version. Throws Error with the path at fault. */
export async function findModelVersions(modelsDir: string, names: readonly string[]): Promise<ModelVersionFile[]> {
  const rootEntries = await readdir(modelsDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`model repository ${modelsDir} cannot be read: ${err.code ?? err.message}`, { cause: err });
  });
  const explicit = names.length > 0;
  const candidates = explicit
    ? [...names]
    : rootEntries.filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.')).map((e) => e.name);

  const found: ModelVersionFile[] = [];
  for (const name of candidates.sort()) {
    const versions = await versionsOf(modelsDir, name, explicit);
    for (const version of versions) found.push({ name, version, path: join(modelsDir, name, version, MODEL_FILE) });
  }
  if (found.length === 0) throw new Error(`model repository ${modelsDir} has no <name>/<version>/${MODEL_FILE}`);

  for (const file of found) {
    const info = await stat(file.path).catch(() => null);
    if (!info?.isFile()) throw new Error(`model ${file.name} version ${file.version}: ${file.path} is missing`);
  }
  return found;
}

async function versionsOf(modelsDir: string, name: string, required: boolean): Promise<string[]> {
  const dir = join(modelsDir, name);
  let entries: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      if (required) throw new Error(`model ${name}: ${dir} is not a directory`);
      return [];
    }
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`model ${name}: no directory ${dir}`, { cause: err });
    throw err;
  }
  const versions = entries.filter((v) => VERSION_NAME.test(v)).sort((a, b) => Number(a) - Number(b));
  if (versions.length === 0 && required) throw new Error(`model ${name}: ${dir} has no version directory (1, 2, …)`);
  return versions;
}
