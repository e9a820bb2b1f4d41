// Model signatures shared by the KServe codec tests.

import type { ModelSignature } from '../../../common/wire.ts';

export const classifier: ModelSignature = {
  fingerprint: 'test',
  name: 'classifier',
  version: '1',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }],
};

export const ranker: ModelSignature = {
  fingerprint: 'test',
  name: 'ranker',
  version: '1',
  inputs: [
    { name: 'features', datatype: 'FP32', shape: [-1, 16] },
    { name: 'item_ids', datatype: 'INT64', shape: [-1, 4] },
  ],
  outputs: [
    { name: 'embedding', datatype: 'FP32', shape: [-1, 16] },
    { name: 'score', datatype: 'FP32', shape: [-1, 1] },
  ],
};

/** One input per datatype (static and dynamic dims), a scalar input, and a BYTES output. */
export const everyType: ModelSignature = {
  fingerprint: 'test',
  name: 'every-type',
  version: '3',
  inputs: [
    { name: 'b', datatype: 'BOOL', shape: [-1] },
    { name: 'u8', datatype: 'UINT8', shape: [2] },
    { name: 'u16', datatype: 'UINT16', shape: [-1] },
    { name: 'u32', datatype: 'UINT32', shape: [-1] },
    { name: 'u64', datatype: 'UINT64', shape: [-1] },
    { name: 'i8', datatype: 'INT8', shape: [-1] },
    { name: 'i16', datatype: 'INT16', shape: [-1] },
    { name: 'i32', datatype: 'INT32', shape: [-1, 2] },
    { name: 'i64', datatype: 'INT64', shape: [-1] },
    { name: 'h', datatype: 'FP16', shape: [-1] },
    { name: 'f', datatype: 'FP32', shape: [-1] },
    { name: 'd', datatype: 'FP64', shape: [-1] },
    { name: 's', datatype: 'BYTES', shape: [-1] },
    { name: 'scalar', datatype: 'FP32', shape: [] },
  ],
  outputs: [
    { name: 'out', datatype: 'FP32', shape: [-1] },
    { name: 'labels', datatype: 'BYTES', shape: [-1] },
  ],
};
