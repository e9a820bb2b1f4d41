// Reads the model repository layout:
//
//   <repository>/<name>/config.yaml          optional, per-model settings
//   <repository>/<name>/<version>/model.onnx versions are positive integers
//
// The signatures themselves come from the workers' onnxruntime sessions.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadModelConfig } from '../../config/load.ts';
import type { ModelConfig } from '../../config/schema.ts';

export type RepositoryModel = {
  name: string;
  /** Ascending numeric order; the last one is the latest. */
  versions: string[];
  config: ModelConfig;
};

const VERSION_DIR = /^[1-9]\d*$/;

/** Scans the repository; throws ConfigError when it is missing or holds no model. */
export function scanRepository(repository: string, include: readonly string[]): RepositoryModel[] {
  let names: string[];
  try {
    names = readdirSync(repository, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (err) {
    throw new ConfigError(`models.repository: cannot read ${repository}: ${(err as Error).message}`);
  }
  const models: RepositoryModel[] = [];
  for (const name of names) {
    if (include.length > 0 && !include.includes(name)) continue;
    const dir = join(repository, name);
    const versions = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && VERSION_DIR.test(entry.name))
      .filter((entry) => existsSync(join(dir, entry.name, 'model.onnx')))
      .map((entry) => entry.name)
      .sort((a, b) => Number(a) - Number(b));
    if (versions.length === 0) continue;
    models.push({ name, versions, config: loadModelConfig(join(dir, 'config.yaml')) });
  }
  for (const wanted of include) {
    if (!models.some((m) => m.name === wanted)) {
      throw new ConfigError(`models.include: model "${wanted}" is not in ${repository}`);
    }
  }
  if (models.length === 0) {
    throw new ConfigError(`models.repository: no <name>/<version>/model.onnx under ${repository} (run \`npm run models\` to write the demo models)`);
  }
  return models;
}
