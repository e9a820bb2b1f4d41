// `npm run models` / `infergate models`: writes the demo model repository.
//   node scripts/write-demo-models.ts [--out <dir>] [--if-missing]

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { demoModelsPresent, writeDemoModels } from './demo-models/index.ts';

const DEFAULT_OUT = fileURLToPath(new URL('../models', import.meta.url));

export async function runWriteDemoModels(argv: string[]): Promise<void> {
  let values: { out?: string; 'if-missing'?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { out: { type: 'string' }, 'if-missing': { type: 'boolean' } } }));
  } catch (err) {
    process.stderr.write(`write-demo-models: ${(err as Error).message}\nusage: write-demo-models [--out <dir>] [--if-missing]\n`);
    process.exitCode = 2;
    return;
  }
  const outDir = values.out ? resolve(values.out) : DEFAULT_OUT;
  if (values['if-missing'] && demoModelsPresent(outDir)) return;
  for (const file of await writeDemoModels(outDir)) {
    console.log(`wrote ${file} (${statSync(file).size} bytes)`);
  }
}

if (import.meta.main) await runWriteDemoModels(process.argv.slice(2));
