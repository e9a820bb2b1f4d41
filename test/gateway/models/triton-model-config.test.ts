// Triton's model configuration of a model: batch dimension, datatypes,
// version policy, dynamic batching.

import t from 'tap';
import type { ModelSignature } from '../../../common/wire.ts';
import { configSchema } from '../../../config/schema.ts';
import { effectiveBatching, tritonModelConfig } from '../../../gateway/models/triton-model-config.ts';
import { model } from '../../helpers/registry-fixtures.ts';

const defaults = configSchema.parse({}).batching;
const batchable: ModelSignature = {
  name: 'm',
  version: '1',
  fingerprint: 'f',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }, { name: 'tags', datatype: 'BYTES', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'INT64', shape: [-1, 3] }],
};

t.test('a batchable model: max_batch_size, dims without the batch dimension, dynamic batching', async (t) => {
  const m = model('m', ['1', '2'], { config: { batching: { maxBatchSize: 16, maxQueueDelayMs: 2, preferredBatchSizes: [8] } } });
  const config = tritonModelConfig(m, batchable, effectiveBatching(m, defaults));
  t.same(config, {
    name: 'm',
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: 16,
    input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [8] }, { name: 'tags', data_type: 'TYPE_STRING', dims: [] }],
    output: [{ name: 'y', data_type: 'TYPE_INT64', dims: [3] }],
    dynamic_batching: { preferred_batch_size: [8], max_queue_delay_microseconds: 2000 },
  });
});

t.test('batching off, or a fixed first dimension: max_batch_size 0 and the full shapes', async (t) => {
  const off = model('m', ['1'], { config: { batching: { enabled: false }, versionPolicy: 'all' } });
  const config = tritonModelConfig(off, batchable, effectiveBatching(off, defaults));
  t.equal(config.max_batch_size, 0);
  t.same(config.input[0]!.dims, [-1, 8]);
  t.notOk('dynamic_batching' in config);
  t.same(config.version_policy, { all: {} });
  const fixed = { ...batchable, inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [4, 8] }] };
  t.equal(tritonModelConfig(model('m', ['1']), fixed, defaults).max_batch_size, 0);
  t.same(tritonModelConfig(model('m', ['1'], { config: { versionPolicy: { specific: [1, 3] } } }), fixed, defaults).version_policy, { specific: { versions: [1, 3] } });
});
