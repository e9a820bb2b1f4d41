// Writes the demo model repository: <outDir>/<name>/<version>/model.onnx.

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from './onnx-builder.ts';
import { DEMO_MODELS } from './specs.ts';

export { DEMO_MODELS } from './specs.ts';

export function demoModelPaths(outDir: string): string[] {
  return DEMO_MODELS.map((m) => join(outDir, m.name, m.version, 'model.onnx'));
}

/** Writes every demo model (atomically: temp file, then rename); returns the paths written. */
export async function writeDemoModels(outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const model of DEMO_MODELS) {
    const dir = join(outDir, model.name, model.version);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'model.onnx');
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, encodeModel(model.graph()));
    renameSync(temp, file);
    written.push(file);
  }
  return written;
}

/** True when every demo model file exists under outDir. */
export function demoModelsPresent(outDir: string): boolean {
  return demoModelPaths(outDir).every((path) => existsSync(path));
}
