// The gateway's view of the model repository (layout in
// common/model-repository.ts, shared with the workers): a repository that
// cannot be read, holds no model, or lacks a model named in models.include
// stops the gateway at start with a ConfigError naming the field. A model's
// own faults (an invalid config.yaml, a missing model.onnx) do not: those
// versions are UNAVAILABLE (models/registry.ts) and every other model serves.

import { RepositoryError, scanModelRepository, type RepositoryModel } from '../../common/model-repository.ts';
import { ConfigError } from '../../config/load.ts';
import type { GatewayConfig } from '../../config/schema.ts';

export type { RepositoryModel } from '../../common/model-repository.ts';

/**
 * The models the gateway starts with. controlMode explicit: the models named in models.load (maybe none); otherwise
 * every model of the repository, or those of models.include.
 */
export function startingModels(config: GatewayConfig['models']): RepositoryModel[] {
  if (config.controlMode !== 'explicit') return scanRepository(config.repository, config.include, 'models.include');
  // A model not listed in models.include is not served, whatever the mode.
  const outside = config.load.filter((name) => config.include.length > 0 && !config.include.includes(name));
  if (outside.length > 0) throw new ConfigError(`models.load: ${outside.join(', ')} not in models.include`);
  return config.load.length === 0 ? [] : scanRepository(config.repository, config.load, 'models.load');
}

export function scanRepository(repository: string, names: readonly string[], namesField: string): RepositoryModel[] {
  let models: RepositoryModel[];
  try {
    models = scanModelRepository(repository, names);
  } catch (err) {
    if (!(err instanceof RepositoryError)) throw err;
    throw new ConfigError(`${names.length > 0 && !err.message.includes('cannot be read') ? namesField : 'models.repository'}: ${err.message}`);
  }
  if (models.length === 0) {
    throw new ConfigError(`models.repository: no <name>/<version>/model.onnx under ${repository} (run \`npm run models\` to write the demo models)`);
  }
  return models;
}
