// A file a command-line flag names (`--sample`, `--expected`, `--sample-file`),
// read as text; a failure is one line naming the flag and the path.

import { readFile } from 'node:fs/promises';

export async function readFlagFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
