// Writes the demo model repository: <outDir>/<name>/<version>/model.onnx,
// and <outDir>/<name>/config.yaml for a model that has one.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeModel } from './onnx-builder.ts';
import { DEMO_MODELS } from './specs.ts';

export { DEMO_MODELS } from './specs.ts';
export type { DemoModel } from './specs.ts';

/**
 * The demo models' config.yaml files. The classifier serves both of its versions (the default policy serves only
 * the latest) under labels, so the demo shows a version switch by name.
 */
export const DEMO_CONFIGS: Readonly<Record<string, string>> = {
  classifier: 'versionPolicy: all\nlabels:\n  stable: 1\n  canary: 2\n',
};

export function demoModelPaths(outDir: string): string[] {
  return [...DEMO_MODELS.map((m) => join(outDir, m.name, m.version, 'model.onnx')), ...Object.keys(DEMO_CONFIGS).map((name) => join(outDir, name, 'config.yaml'))];
}

/**
 * Writes every demo model (and config) and returns the paths written. Each
 * file goes to a temp name in the same directory and is then renamed over the
 * target, so a worker scanning the repository (or a second writer) never sees
 * half a file.
 */
export async function writeDemoModels(outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const model of DEMO_MODELS) {
    const dir = join(outDir, model.name, model.version);
    await mkdir(dir, { recursive: true });
    written.push(await writeWhole(join(dir, 'model.onnx'), encodeModel(model.graph())));
  }
  for (const [name, text] of Object.entries(DEMO_CONFIGS)) written.push(await writeWhole(join(outDir, name, 'config.yaml'), text));
  return written;
}

/** Writes to a temp name in the same directory, then renames it over `file`. */
async function writeWhole(file: string, content: Uint8Array | string): Promise<string> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return file;
}

/** True when every demo model file exists under outDir. */
export function demoModelsPresent(outDir: string): boolean {
  return demoModelPaths(outDir).every((path) => existsSync(path));
}
