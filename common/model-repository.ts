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
// an error of the whole scan. Only served versions are listed: those the
// model's versionPolicy selects (version-policy.ts; default: the latest), or
// those a selection names (a worker told `--model name:1,3`); one the model
// does not have is listed with `noDirectory` (its caller makes it
// UNAVAILABLE too). Labels must name served versions, or config.yaml is
// refused.
//
// Versions are ordered by one rule, compareVersions, and "the latest" (what a
// request naming no version gets) is latestVersion: use these, not a sort of
// your own.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelConfig } from '../config/load.ts';
import type { ModelConfig } from '../config/model-schema.ts';
import { labelProblem, servedVersions } from './version-policy.ts';

export const MODEL_FILE = 'model.onnx';

export type RepositoryVersion = {
  version: string;
  /** <repository>/<name>/<version>/model.onnx */
  path: string;
  /** The version directory has no model.onnx (or it is not a file). */
  missing: boolean;
  /** A selection named this version but the model has no such directory (`missing` is true as well). */
  noDirectory?: true;
};

/** Which versions of one model to take; absent `versions` means every version in the repository. */
export type ModelSelection = { name: string; versions?: readonly string[] };

export type RepositoryModel = {
  name: string;
  /** Ascending by compareVersions; the last one is the highest. */
  versions: RepositoryVersion[];
  /** The parsed config.yaml; {} when absent or invalid. */
  config: ModelConfig;
  /** Why config.yaml was refused (the model is then unavailable), naming the file and field. */
  configError?: string;
};

/** Canonical positive integers only: "01" would be a second name for version 1. */
const VERSION_NAME = /^[1-9]\d*$/;

/** Whether `text` can name a version (a version directory's name). */
export function isVersionName(text: string): boolean {
  return VERSION_NAME.test(text);
}

export class RepositoryError extends Error {
  override name = 'RepositoryError';
}

/**
 * Orders version names numerically. Versions are canonical positive integers,
 * so a longer name is a larger number and equal lengths compare digit by
 * digit: exact at any length, where Number() would round past 2^53.
 */
export function compareVersions(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The highest version among `items` (version names, or anything with a
 * `version`): the version a request that names none gets. Undefined when
 * there is none.
 */
export function latestVersion<T extends string | { readonly version: string }>(items: Iterable<T>): T | undefined {
  let latest: T | undefined;
  for (const item of items) {
    if (latest === undefined || compareVersions(versionOf(item), versionOf(latest)) > 0) latest = item;
  }
  return latest;
}

function versionOf(item: string | { readonly version: string }): string {
  return typeof item === 'string' ? item : item.version;
}

/**
 * Scans the repository. `include` selects the models to take (empty: every
 * model found), a bare name meaning every version of it; a model named there
 * that is not a model directory is a RepositoryError, as is an unreadable
 * repository.
 */
export function scanModelRepository(repository: string, include: readonly (string | ModelSelection)[]): RepositoryModel[] {
  const selected = new Map(include.map((s): [string, readonly string[] | undefined] => (typeof s === 'string' ? [s, undefined] : [s.name, s.versions])));
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
    if (selected.size > 0 && !selected.has(name)) continue;
    const model = readModel(repository, name, selected.get(name));
    if (model) models.push(model);
  }
  for (const wanted of selected.keys()) {
    if (!models.some((m) => m.name === wanted)) {
      throw new RepositoryError(`model "${wanted}" is not in ${repository} (no ${join(repository, wanted)}/<version>/ directory)`);
    }
  }
  return models;
}

/**
 * Every version directory of one model, served or not, ascending by compareVersions; none when `name` is not a
 * directory. What a writer of a new version (`infergate optimize`) must not collide with.
 */
export function versionDirectories(repository: string, name: string): string[] {
  const dir = join(repository, name);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return []; // a symbolic link to nowhere, or not a directory
  }
  return entries.filter((entry) => isVersionName(entry) && isDirectory(join(dir, entry))).sort(compareVersions);
}

/**
 * A model's served versions: those of `versions` alone when given (the caller applied the policy already), else
 * those its versionPolicy selects. Undefined when `name` is not a model directory.
 */
function readModel(repository: string, name: string, versions: readonly string[] | undefined): RepositoryModel | undefined {
  const dir = join(repository, name);
  const present = versionDirectories(repository, name);
  if (present.length === 0) return undefined;
  const list = (wanted: readonly string[]): RepositoryVersion[] =>
    [...new Set(wanted)].sort(compareVersions).map((version): RepositoryVersion => {
      const path = join(dir, version, MODEL_FILE);
      if (!present.includes(version)) return { version, path, missing: true, noDirectory: true };
      return { version, path, missing: !isFile(path) };
    });
  const configPath = join(dir, 'config.yaml');
  let config: ModelConfig;
  try {
    config = loadModelConfig(configPath);
  } catch (err) {
    return { name, versions: list(versions ?? present), config: {}, configError: (err as Error).message };
  }
  const served = servedVersions(present, config.versionPolicy);
  const labels = labelProblem(config.labels, served, config.versionPolicy);
  if (labels !== undefined) return { name, versions: list(versions ?? served), config: {}, configError: `invalid model config ${configPath}: ${labels}` };
  return { name, versions: list(versions ?? served), config };
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
