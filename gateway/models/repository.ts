// The gateway's view of the model repository (layout in
// common/model-repository.ts, shared with the workers): a repository that
// cannot be read, holds no model, or lacks a model named in models.include
// stops the gateway at start with a ConfigError naming the field. A model's
// own faults (an invalid config.yaml, a missing model.onnx) do not: those
// versions are UNAVAILABLE (models/registry.ts) and every other model serves.

import { RepositoryError, scanModelRepository, type RepositoryModel } from '../../common/model-repository.ts';
import { ConfigError } from '../../config/load.ts';

export type { RepositoryModel } from '../../common/model-repository.ts';

export function scanRepository(repository: string, include: readonly string[]): RepositoryModel[] {
  let models: RepositoryModel[];
  try {
    models = scanModelRepository(repository, include);
  } catch (err) {
    if (!(err instanceof RepositoryError)) throw err;
    throw new ConfigError(`${include.length > 0 && !err.message.includes('cannot be read') ? 'models.include' : 'models.repository'}: ${err.message}`);
  }
  if (models.length === 0) {
    throw new ConfigError(`models.repository: no <name>/<version>/model.onnx under ${repository} (run \`npm run models\` to write the demo models)`);
  }
  return models;
}
