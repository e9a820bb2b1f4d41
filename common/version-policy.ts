// Which of a model's version directories are served, by its config.yaml's
// versionPolicy (Triton's version_policy, TF Serving's
// model_version_policy):
//
//   latest: N        the N highest versions (the default: latest 1)
//   all              every version
//   specific: [..]   exactly these (one without a directory is listed, and
//                    then unavailable: the operator asked for it)
//
// and whether the model's labels (`{stable: 1, canary: 2}`) name served
// versions. Pure.

import type { ModelConfig } from '../config/model-schema.ts';

export type VersionPolicy = NonNullable<ModelConfig['versionPolicy']>;

export const DEFAULT_VERSION_POLICY: VersionPolicy = { latest: 1 };

/** The versions served out of `present` (ascending by compareVersions), ascending. */
export function servedVersions(present: readonly string[], policy: VersionPolicy = DEFAULT_VERSION_POLICY): string[] {
  if (policy === 'all') return [...present];
  if ('latest' in policy) return present.slice(Math.max(0, present.length - policy.latest));
  return policy.specific.map(String);
}

export function describePolicy(policy: VersionPolicy = DEFAULT_VERSION_POLICY): string {
  if (policy === 'all') return 'versionPolicy all';
  if ('latest' in policy) return `versionPolicy latest ${policy.latest}`;
  return `versionPolicy specific [${policy.specific.join(', ')}]`;
}

/** Why the labels cannot stand (a label naming a version that is not served), or undefined. */
export function labelProblem(labels: ModelConfig['labels'], served: readonly string[], policy: VersionPolicy | undefined): string | undefined {
  for (const [label, version] of Object.entries(labels ?? {})) {
    if (!served.includes(String(version))) {
      return `labels.${label}: version ${version} is not served (${describePolicy(policy)} serves ${served.length > 0 ? served.join(', ') : 'none'})`;
    }
  }
  return undefined;
}
