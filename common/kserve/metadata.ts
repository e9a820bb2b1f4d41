// Bodies of the KServe v2 metadata and health endpoints, built from model
// signatures. Pure: the handlers decide the status codes (200 when live/ready,
// 4xx otherwise, as the protocol asks).

import type { KServeDatatype } from '../datatypes.ts';
import type { ModelSignature, TensorSpec } from '../wire.ts';

/** The protocol's platform name for models served by onnxruntime. */
export const ONNX_PLATFORM = 'onnx_onnxv1';

export const SERVER_NAME = 'infergate';

export type ServerMetadata = { name: string; version: string; extensions: string[] };

export type MetadataTensor = { name: string; datatype: KServeDatatype; shape: number[] };

export type ModelMetadata = {
  name: string;
  versions: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
};

/**
 * GET /v2. `extensions` lists only protocol extensions actually served (for
 * example "binary_tensor_data" once it is wired); none by default.
 */
export function serverMetadata(version: string, extensions: readonly string[] = []): ServerMetadata {
  return { name: SERVER_NAME, version, extensions: [...extensions] };
}

/**
 * GET /v2/models/{m}[/versions/{v}]: `versions` are the versions a client may
 * name (all of them, or the one in the URL). Dynamic dims stay -1.
 */
export function modelMetadata(signature: ModelSignature, versions: readonly string[]): ModelMetadata {
  return {
    name: signature.name,
    versions: [...versions],
    platform: ONNX_PLATFORM,
    inputs: signature.inputs.map(metadataTensor),
    outputs: signature.outputs.map(metadataTensor),
  };
}

function metadataTensor(spec: TensorSpec): MetadataTensor {
  return { name: spec.name, datatype: spec.datatype, shape: [...spec.shape] };
}

/** GET /v2/health/live. */
export function serverLiveBody(live: boolean): { live: boolean } {
  return { live };
}

/** GET /v2/health/ready (the protocol text shows "live" here, a typo: servers answer "ready"). */
export function serverReadyBody(ready: boolean): { ready: boolean } {
  return { ready };
}

/** GET /v2/models/{m}[/versions/{v}]/ready. */
export function modelReadyBody(name: string, version: string | undefined, ready: boolean): { name: string; version?: string; ready: boolean } {
  return version === undefined ? { name, ready } : { name, version, ready };
}
