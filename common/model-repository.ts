// The model repository layout, read the same way by the gateway (what to
// place and route) and by each worker (what to load):
//
//   <repository>/<name>/config.yaml          optional, per-model settings
//   <repository>/<name>/<version>/model.onnx versions are positive integers
//
// A directory with no version directory is not a model and is skipped
// (README, dot-directories). A model's faults stay the model's: a version
// directory without model.onnx is listed with `missing`, an invalid
// config.yaml as `configError`, and the caller makes those versions
// UNAVAILABLE instead of failing everything else. Only a repository that
// cannot be read at all, or a model named explicitly that is not there, is
// an error of the whole scan.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelConfig } from '../config/load.ts';
import type { ModelConfig } from '../config/model-schema.ts';

export const MODEL_FILE = 'model.onnx';

export type RepositoryVersion = {
  version: string;
  /** <repository>/<name>/<version>/model.onnx */
  path: string;
  /** The version directory has no model.onnx (or it is not a file). */
  missing: boolean;
};

export type RepositoryModel = {
  name: string;
  /** Ascending numeric order; the last one is the highest. */
  versions: RepositoryVersion[];
  /** The parsed config.yaml; {} when absent or invalid. */
  config: ModelConfig;
  /** Why config.yaml was refused (the model is then unavailable), naming the file and field. */
  configError?: string;
};

/** Canonical positive integers only: "01" would be a second name for version 1. */
const VERSION_DIR = /^[1-9]\d*$/;

export class RepositoryError extends Error {
  override name = 'RepositoryError';
}

/**
 * Scans the repository. `include` names the models to take (empty: every
 * model found); a name there that is not a model directory is a
 * RepositoryError, as is an unreadable repository.
 */
export function scanModelRepository(repository: string, include: readonly string[]): RepositoryModel[] {
  let names: string[];
  try {
    names = readdirSync(repository, { withFileTypes: true })
      .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (err) {
    throw new RepositoryError(`model repository ${repository} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const models: RepositoryModel[] = [];
  for (const name of names) {
    if (include.length > 0 && !include.includes(name)) continue;
    const model = readModel(repository, name);
    if (model) models.push(model);
  }
  for (const wanted of include) {
    if (!models.some((m) => m.name === wanted)) {
      throw new RepositoryError(`model "${wanted}" is not in ${repository} (no ${join(repository, wanted)}/<version>/ directory)`);
    }
  }
  return models;
}

function readModel(repository: string, name: string): RepositoryModel | undefined {
  const dir = join(repository, name);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined; // a symbolic link to nowhere, or not a directory
  }
  const versions = entries
    .filter((entry) => VERSION_DIR.test(entry) && isDirectory(join(dir, entry)))
    .sort((a, b) => Number(a) - Number(b))
    .map((version): RepositoryVersion => {
      const path = join(dir, version, MODEL_FILE);
      return { version, path, missing: !isFile(path) };
    });
  if (versions.length === 0) return undefined;
  try {
    return { name, versions, config: loadModelConfig(join(dir, 'config.yaml')) };
  } catch (err) {
    return { name, versions, config: {}, configError: (err as Error).message };
  }
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
