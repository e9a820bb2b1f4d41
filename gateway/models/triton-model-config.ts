// A model as Triton's model configuration describes it, for the clients and
// tools that ask for it (perf_analyzer, tritonclient's get_model_config):
// over REST in Triton's JSON and over gRPC as the ModelConfig message, whose
// field names the JSON shares. Pure.
//
// max_batch_size > 0 tells a client that the first dimension of every input
// and output is the batch: Triton then lists `dims` without it. That holds
// when batching is on for the model and every tensor's first dimension is
// free (-1); otherwise max_batch_size is 0 and `dims` are the full shapes.

import type { RepositoryModel } from '../../common/model-repository.ts';
import type { ModelSignature, TensorSpec } from '../../common/wire.ts';
import type { BatchingConfig } from '../../config/batching-schema.ts';

export type TritonTensorConfig = { name: string; data_type: string; dims: number[] };

export type TritonModelConfig = {
  name: string;
  platform: string;
  backend: string;
  version_policy: { latest: { num_versions: number } } | { all: Record<string, never> } | { specific: { versions: number[] } };
  max_batch_size: number;
  input: TritonTensorConfig[];
  output: TritonTensorConfig[];
  dynamic_batching?: { preferred_batch_size: number[]; max_queue_delay_microseconds: number };
};

/** The batching settings that apply to the model: its config.yaml's over the gateway's defaults. */
export function effectiveBatching(model: RepositoryModel, defaults: BatchingConfig): BatchingConfig {
  return { ...defaults, ...(model.config.batching ?? {}) } as BatchingConfig;
}

export function tritonModelConfig(model: RepositoryModel, signature: ModelSignature, batching: BatchingConfig): TritonModelConfig {
  const tensors = [...signature.inputs, ...signature.outputs];
  const batched = batching.enabled && tensors.length > 0 && tensors.every((t) => t.shape.length > 0 && t.shape[0] === -1);
  const tensor = (spec: TensorSpec): TritonTensorConfig => ({ name: spec.name, data_type: tritonDataType(spec.datatype), dims: batched ? spec.shape.slice(1) : [...spec.shape] });
  const policy = model.config.versionPolicy;
  return {
    name: model.name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: policy === 'all' ? { all: {} } : policy && 'specific' in policy ? { specific: { versions: [...policy.specific] } } : { latest: { num_versions: policy?.latest ?? 1 } },
    max_batch_size: batched ? batching.maxBatchSize : 0,
    input: signature.inputs.map(tensor),
    output: signature.outputs.map(tensor),
    ...(batched ? { dynamic_batching: { preferred_batch_size: [...batching.preferredBatchSizes], max_queue_delay_microseconds: Math.round(batching.maxQueueDelayMs * 1000) } } : {}),
  };
}

/** KServe's datatype names as Triton's DataType enum names (BYTES is Triton's TYPE_STRING). */
function tritonDataType(datatype: string): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}
