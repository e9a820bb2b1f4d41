// The worker's public KServe v2 JSON infer route, so that a worker can stand
// on its own behind any HTTP balancer (the benchmark puts NGINX in front of
// workers this way):
//
//   POST /v2/models/{m}[/versions/{v}]/infer    same JSON as the gateway's
//
// The gateway never uses it: it speaks the binary frame of common/wire.ts.

import { InfergateError } from '../common/errors.ts';
import { decodeInferRequest } from '../common/kserve/decode-request.ts';
import { encodeInferResponse } from '../common/kserve/encode-response.ts';
import { latestVersion } from '../common/model-repository.ts';
import type { InferenceBackend } from './inference-backend.ts';

const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;

/** The model and version named by a KServe infer path, or undefined for other paths. */
export function matchKServeInfer(path: string): { model: string; version: string } | undefined {
  const match = INFER_PATH.exec(path);
  if (!match) return undefined;
  try {
    return { model: decodeURIComponent(match[1]!), version: match[2] === undefined ? '' : decodeURIComponent(match[2]) };
  } catch {
    return undefined;
  }
}

/** Runs one KServe v2 JSON request; returns the JSON response body. Throws InfergateError. */
export async function runKServeInfer(store: InferenceBackend, model: string, version: string, body: Uint8Array): Promise<Buffer> {
  const versions = store.signatures().filter((s) => s.name === model);
  if (versions.length === 0) throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', `"${model}"`);
  const signature = version === '' ? latestVersion(versions) : versions.find((s) => s.version === version);
  if (!signature) throw new InfergateError('GW_ERR_VERSION_NOT_FOUND', `model "${model}" has no version "${version}"`);

  const request = decodeInferRequest(body, signature);
  const result = await store.run(model, signature.version, request.tensors, request.outputs);
  return encodeInferResponse({
    modelName: model,
    modelVersion: result.version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: result.outputs,
  });
}
