// `--to graph`: onnxruntime's own graph optimizations, applied offline and
// saved as a model (SessionOptions.optimizedModelFilePath): constant folding,
// redundant-node elimination and fusions (MatMul+Add → Gemm, Gelu, LayerNorm…)
// done once here instead of in every worker's session creation.
//
// Level 'extended', not 'all': 'all' adds layout transforms (NCHWc) whose
// nodes exist only in onnxruntime's CPU provider, so the saved model would
// load nowhere else. One intra-op thread: the saved graph does not depend on
// it, and an offline tool should not take every core of a serving machine.
//
// Byte-stable: the same source gives the same bytes on every run (tried on
// every demo model, and tested), whatever the source or output path.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModeResult, OptimizeMode, SourceModel } from './optimize-mode.ts';

const OPTIONS = { graphOptimizationLevel: 'extended', intraOpNumThreads: 1 } as const;

async function transform(source: SourceModel): Promise<ModeResult> {
  const dir = await mkdtemp(join(tmpdir(), 'infergate-optimize-'));
  try {
    const optimizedModelFilePath = join(dir, 'model.onnx');
    // Fatal only: a failure reaches us as the exception; onnxruntime's own copy on stderr would repeat it.
    const session = await ort.InferenceSession.create(source.bytes, { ...OPTIONS, optimizedModelFilePath, logSeverityLevel: 4 });
    await session.release();
    return { bytes: new Uint8Array(await readFile(optimizedModelFilePath)), notes: [] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const graphMode: OptimizeMode = {
  summary: "onnxruntime's offline graph optimizations (level extended), saved as a model",
  tolerance: { abs: 1e-5 },
  options: OPTIONS,
  transform,
};
