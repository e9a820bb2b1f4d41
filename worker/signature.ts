// onnxruntime session metadata → the KServe-style ModelSignature the gateway
// validates requests against. Pure: no session, only its metadata, so the
// mapping is tested with fake metadata.
//
//   ort { name, isTensor, type: 'float32', shape: ['batch', 64] }
//     → { name, datatype: 'FP32', shape: [-1, 64] }

import type { InferenceSession } from 'onnxruntime-node';
import { datatypeByOrt } from '../common/datatypes.ts';
import type { ModelSignature, TensorSpec } from '../common/wire.ts';

type ValueMetadata = InferenceSession.ValueMetadata;

/**
 * Maps one model version's metadata (and the digest of its file) to its signature. Throws a plain Error
 * (a load error, never a request error) for a non-tensor value (sequence,
 * map, optional) or a tensor type KServe has no name for (e.g. bfloat16, int4).
 */
export function signatureFromMetadata(
  name: string,
  version: string,
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
  fingerprint: string,
): ModelSignature {
  const where = `model ${name} version ${version}`;
  return {
    name,
    version,
    inputs: inputs.map((m) => tensorSpec(m, `${where} input`)),
    outputs: outputs.map((m) => tensorSpec(m, `${where} output`)),
    fingerprint,
  };
}

function tensorSpec(metadata: ValueMetadata, where: string): TensorSpec {
  if (!metadata.isTensor) {
    throw new Error(`${where} "${metadata.name}" is not a tensor (sequences, maps and optionals cannot be served)`);
  }
  const info = datatypeByOrt(metadata.type);
  if (!info) {
    throw new Error(`${where} "${metadata.name}" has onnxruntime type ${metadata.type}, which has no KServe datatype`);
  }
  return { name: metadata.name, datatype: info.kserve, shape: metadata.shape.map(dimension) };
}

/**
 * A symbolic dim ('batch'), an unnamed unknown dim ('') or anything that is
 * not a non-negative integer is dynamic: -1. A scalar's shape stays [].
 */
function dimension(dim: number | string): number {
  return typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0 ? dim : -1;
}
