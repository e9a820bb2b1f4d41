// Small models, signatures and worker reports for tests of the model
// registry and of what reads it.

import type { RepositoryModel } from '../../common/model-repository.ts';
import type { ModelSignature, WorkerModelsBody } from '../../common/wire.ts';
import type { ReplicaView } from '../../gateway/models/registry.ts';

/** A signature with one input and one output; its fingerprint names its file. */
export const sig = (name: string, version: string, fingerprint = `fp-${name}-${version}`): ModelSignature => ({
  name,
  version,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
  fingerprint,
});

/** A model as the repository scan gives it, every version's file present. */
export const model = (name: string, versions: string[], extra: Partial<RepositoryModel> = {}): RepositoryModel => ({
  name,
  versions: versions.map((version) => ({ version, path: `/repo/${name}/${version}/model.onnx`, missing: false })),
  config: {},
  ...extra,
});

/** A worker's report: loaded signatures, and [name, version, reason] of versions it could not load or warned about. */
export const report = (models: ModelSignature[], unavailable: Array<[string, string, string]> = [], warnings: Array<[string, string, string]> = []): WorkerModelsBody => ({
  models,
  unavailable: unavailable.map(([name, version, reason]) => ({ name, version, reason })),
  warnings: warnings.map(([name, version, message]) => ({ name, version, message })),
});

/** A replica as the registry reads it: it runs what its report loaded. */
export const replica = (id: string, state: string, body: WorkerModelsBody | null): ReplicaView => ({
  id,
  state,
  report: body,
  runs: (m, v) => body?.models.some((s) => s.name === m && s.version === v) ?? false,
});
