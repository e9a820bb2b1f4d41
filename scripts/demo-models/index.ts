// Writes the demo model repository: <outDir>/<name>/<version>/model.onnx.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeModel } from './onnx-builder.ts';
import { DEMO_MODELS } from './specs.ts';

export { DEMO_MODELS } from './specs.ts';
export type { DemoModel } from './specs.ts';

export function demoModelPaths(outDir: string): string[] {
  return DEMO_MODELS.map((m) => join(outDir, m.name, m.version, 'model.onnx'));
}

/**
 * Writes every demo model and returns the paths written. Each file goes to a
 * temp name in the same directory and is then renamed over the target, so a
 * worker scanning the repository (or a second writer) never sees half a file.
 */
export async function writeDemoModels(outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const model of DEMO_MODELS) {
    const dir = join(outDir, model.name, model.version);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'model.onnx');
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temp, encodeModel(model.graph()));
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    written.push(file);
  }
  return written;
}

/** True when every demo model file exists under outDir. */
export function demoModelsPresent(outDir: string): boolean {
  return demoModelPaths(outDir).every((path) => existsSync(path));
}
