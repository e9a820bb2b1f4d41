// Model files for the check-model tests: the demo models, and files a worker
// must refuse (truncated, an operator onnxruntime has no schema for, a real
// operator it has no CPU kernel for at that type), written into a temp dir.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { DEMO_MODELS, writeDemoModels } from '../../scripts/demo-models/index.ts';
import { encodeModel, node } from '../../scripts/demo-models/onnx-builder.ts';
import { unsupportedOperatorModel } from './test-models.ts';

const { onnx } = onnxProto;

/** Relu over INT16: ONNX allows the type (opset 14), onnxruntime's CPU provider has no kernel for it. */
export function reluInt16Model(): Uint8Array {
  const int16 = (name: string): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.INT16, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 4 }] } } } });
  return encodeModel({ name: 'relu-int16', nodes: [node('Relu', ['x'], ['y'])], initializers: [], inputs: [int16('x')], outputs: [int16('y')] });
}

export type CheckModelFiles = {
  /** models/<name>/<version>/model.onnx of every demo model. */
  demo: Array<{ label: string; path: string }>;
  truncated: string;
  noSuchOp: string;
  reluInt16: string;
};

export async function writeCheckModelFiles(dir: string): Promise<CheckModelFiles> {
  const repository = join(dir, 'models');
  await writeDemoModels(repository);
  const demo = DEMO_MODELS.map((m) => ({ label: `${m.name}/${m.version}`, path: join(repository, m.name, m.version, 'model.onnx') }));
  const whole = readFileSync(demo[0]!.path);
  const files = { truncated: join(dir, 'truncated.onnx'), noSuchOp: join(dir, 'no-such-op.onnx'), reluInt16: join(dir, 'relu-int16.onnx') };
  writeFileSync(files.truncated, whole.subarray(0, whole.byteLength >> 1));
  writeFileSync(files.noSuchOp, unsupportedOperatorModel());
  writeFileSync(files.reluInt16, reluInt16Model());
  return { demo, ...files };
}
