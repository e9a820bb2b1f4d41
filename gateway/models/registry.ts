// The models the gateway serves, their versions and (once a replica has
// loaded them) their signatures. Resolves a request's model and optional
// version to one signature, or to the catalogued 404/503.

import { InfergateError } from '../../common/errors.ts';
import type { ModelSignature } from '../../common/wire.ts';
import type { RepositoryModel } from './repository.ts';

export type ResolvedModel = { name: string; version: string; signature: ModelSignature };

export class ModelRegistry {
  readonly #models = new Map<string, RepositoryModel>();
  readonly #signatures = new Map<string, ModelSignature>();

  constructor(models: readonly RepositoryModel[]) {
    for (const model of models) this.#models.set(model.name, model);
  }

  get models(): RepositoryModel[] {
    return [...this.#models.values()];
  }

  /** Records signatures reported by a worker (the first report of a version wins). */
  learn(signatures: readonly ModelSignature[]): void {
    for (const signature of signatures) {
      const key = `${signature.name}/${signature.version}`;
      if (!this.#signatures.has(key)) this.#signatures.set(key, signature);
    }
  }

  /** The model; throws GW_ERR_MODEL_NOT_FOUND. */
  model(name: string): RepositoryModel {
    const model = this.#models.get(name);
    if (!model) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `"${name}"`);
    return model;
  }

  /** The version to use: the named one, or the latest. Throws the catalogued 404s. */
  resolveVersion(name: string, version: string | undefined): string {
    const model = this.model(name);
    if (version === undefined || version === '') return model.versions[model.versions.length - 1]!;
    if (!model.versions.includes(version)) {
      throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model "${name}" has versions ${model.versions.join(', ')}, not "${version}"`);
    }
    return version;
  }

  /** The signature of a version; throws 404s, or GW_ERR_MODEL_NOT_READY before any replica loaded it. */
  resolve(name: string, version: string | undefined): ResolvedModel {
    const resolvedVersion = this.resolveVersion(name, version);
    const signature = this.#signatures.get(`${name}/${resolvedVersion}`);
    if (!signature) {
      throw new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${name}" version ${resolvedVersion} has not been loaded by any replica yet`);
    }
    return { name, version: resolvedVersion, signature };
  }
}
