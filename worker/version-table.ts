// The versions a worker holds, as run() finds them and GET /models reports
// them: loaded sessions, versions that could not be served (with why),
// warnings about served ones, and which versions were unloaded (so a request
// for one is told so rather than that it never existed).
//
// Only the store mutates it; it changes in whole steps within one turn of the
// event loop, so run() never sees a model half swapped.

import { clientText, InfergateError } from '../common/errors.ts';
import { compareVersions, latestVersion } from '../common/model-repository.ts';
import type { ModelSignature, UnavailableVersion, VersionWarning, WorkerModelsBody } from '../common/wire.ts';
import type { LoadedVersion } from './loaded-version.ts';

const key = (name: string, version: string): string => `${name}/${version}`;

export class VersionTable {
  /** name → version → loaded session. */
  readonly #models = new Map<string, Map<string, LoadedVersion>>();
  /** "name/version" → why it is not served. */
  readonly #unavailable = new Map<string, UnavailableVersion>();
  readonly #warnings = new Map<string, VersionWarning>();
  /** "name/version" of versions unloaded and not loaded since. */
  readonly #unloaded = new Set<string>();

  /** The version a run of (model, version) gets; version '' is the highest. Throws InfergateError. */
  lookup(model: string, version: string): LoadedVersion {
    const unavailable = this.#unavailable.get(key(model, version));
    if (unavailable) throw new InfergateError('GW_ERR_MODEL_UNAVAILABLE', `model ${clientText(model)} version ${clientText(version)}: ${unavailable.reason}`);
    const versions = this.#models.get(model);
    if (!versions) {
      const unloaded = [...this.#unloaded].some((k) => k.startsWith(`${model}/`));
      throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `this worker serves no model ${clientText(model)}${unloaded ? ' (it was unloaded)' : ''}`);
    }
    const loaded = versions.get(version === '' ? (latestVersion(versions.keys()) ?? '') : version);
    if (!loaded) {
      const unloaded = this.#unloaded.has(key(model, version)) ? ' (it was unloaded)' : '';
      throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model ${model} has versions ${[...versions.keys()].sort(compareVersions).join(', ')}, not ${clientText(version)}${unloaded}`);
    }
    return loaded;
  }

  /** version → loaded session, of one model (empty when none). */
  versionsOf(name: string): ReadonlyMap<string, LoadedVersion> {
    return this.#models.get(name) ?? new Map();
  }

  /** Versions of `name` held in any form: loaded or unavailable. */
  knownVersions(name: string): string[] {
    const unavailable = [...this.#unavailable.values()].filter((u) => u.name === name).map((u) => u.version);
    return [...new Set([...this.versionsOf(name).keys(), ...unavailable])].sort(compareVersions);
  }

  /** Serves `loaded` under its name and version; returns the session it replaces, if any. */
  serve(loaded: LoadedVersion, warning: string | undefined): LoadedVersion | undefined {
    const { name, version } = loaded.signature;
    let versions = this.#models.get(name);
    if (!versions) this.#models.set(name, (versions = new Map()));
    const previous = versions.get(version);
    versions.set(version, loaded);
    this.#unavailable.delete(key(name, version));
    this.#unloaded.delete(key(name, version));
    if (warning === undefined) this.#warnings.delete(key(name, version));
    else this.#warnings.set(key(name, version), { name, version, message: warning });
    return previous;
  }

  /** Stops serving a version (the caller retires its session); returns it, if it was served. */
  remove(name: string, version: string): LoadedVersion | undefined {
    const versions = this.#models.get(name);
    const loaded = versions?.get(version);
    this.#unavailable.delete(key(name, version));
    this.#warnings.delete(key(name, version));
    if (!versions || !loaded) return undefined;
    versions.delete(version);
    if (versions.size === 0) this.#models.delete(name);
    this.#unloaded.add(key(name, version));
    return loaded;
  }

  markUnavailable(version: UnavailableVersion): void {
    this.#unavailable.set(key(version.name, version.version), version);
    this.#unloaded.delete(key(version.name, version.version));
  }

  /** Records a warning about a served version (replacing any earlier one). */
  warn(warning: VersionWarning): void {
    this.#warnings.set(key(warning.name, warning.version), warning);
  }

  /** Every loaded session. */
  all(): LoadedVersion[] {
    return [...this.#models.values()].flatMap((versions) => [...versions.values()]);
  }

  /** Signatures of every loaded version, by model name then version. */
  signatures(): ModelSignature[] {
    return this.all()
      .map((v) => v.signature)
      .sort(byNameThenVersion);
  }

  /** What GET /models reports. */
  report(): WorkerModelsBody {
    return {
      models: this.signatures(),
      unavailable: [...this.#unavailable.values()].sort(byNameThenVersion),
      warnings: [...this.#warnings.values()].sort(byNameThenVersion),
    };
  }
}

function byNameThenVersion(a: { name: string; version: string }, b: { name: string; version: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version, b.version);
}
