// Keeps the gateway's API keys current: reads them from the keys file
// (auth.keysFile) or from Redis (the hash <keyPrefix>:keys), checks every
// reloadCheckMs for a change, and swaps in a new KeyTable when there is one.
// A revoked key stops working within one check. A file that no longer
// parses keeps the keys that were last read (a half-written file must not
// lock everyone out), and says so in the log once per change.
//
// The file is read whole at each check rather than trusting its mtime: it
// is small, and an edit within the same clock tick, or a rename over it,
// is seen all the same.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../common/logger.ts';
import { ConfigError } from '../../config/load.ts';
import { apiKeyEntrySchema, apiKeysFileSchema, type ApiKeyEntry } from '../../config/auth-schema.ts';
import { KeyTable } from './api-keys.ts';

/** Where keys come from: the text of the keys file, or the fields of the Redis hash (name → entry as JSON). */
export type KeyOrigin = { kind: 'file'; path: string } | { kind: 'redis'; hash: string; read: (hash: string) => Promise<Record<string, string>> };

export type KeySourceDeps = {
  origin: KeyOrigin;
  reloadCheckMs: number;
  logger: Logger;
};

export class KeySource {
  readonly #deps: KeySourceDeps;
  #table: KeyTable | undefined;
  /** What the last check read (the file's text, or the hash's fields in order): unchanged, nothing to rebuild. */
  #lastRead: string | undefined;
  /** The last failure logged, so that a lasting one is logged once. */
  #lastFailure: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(deps: KeySourceDeps) {
    this.#deps = deps;
  }

  /** The keys known now (undefined until the first read succeeds: every key is then unknown). */
  get table(): KeyTable | undefined {
    return this.#table;
  }

  /**
   * Reads the keys once, then checks for changes every reloadCheckMs. The keys file is read before this returns
   * (a missing or invalid one is a ConfigError naming auth.keysFile); Redis may be down at start: no key works
   * until it answers, and the gateway starts all the same.
   */
  start(): this {
    const { origin } = this.#deps;
    if (origin.kind === 'file') {
      let text: string;
      try {
        text = readFileSync(origin.path, 'utf8');
        this.#table = new KeyTable(parseKeysFile(text, origin.path));
      } catch (err) {
        throw new ConfigError(`auth.keysFile: ${(err as Error).message}`);
      }
      this.#lastRead = text;
      this.#deps.logger.info({ keys: this.#table.size, file: origin.path }, 'API keys loaded');
    } else {
      void this.#check();
    }
    this.#timer = setInterval(() => void this.#check(), this.#deps.reloadCheckMs);
    this.#timer.unref();
    return this;
  }

  /** Reads the keys now (the admin reload route); resolves with how many are known, or rejects with why the read failed. */
  reload(): Promise<{ keys: number }> {
    return this.#read().then(() => ({ keys: this.#table?.size ?? 0 }));
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** A check from the timer: failures are logged (once per distinct failure) and the old keys kept. */
  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = this.#read().catch(() => {});
    await this.#checking;
    this.#checking = undefined;
  }

  async #read(): Promise<void> {
    const { origin, logger } = this.#deps;
    try {
      if (origin.kind === 'file') {
        const text = await readFile(origin.path, 'utf8');
        if (text === this.#lastRead) return;
        this.#swap(new KeyTable(parseKeysFile(text, origin.path)), text);
      } else {
        const fields = await origin.read(origin.hash);
        const read = JSON.stringify(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1)));
        if (read === this.#lastRead) return;
        this.#swap(new KeyTable(entriesOfHash(fields, logger)), read);
      }
      this.#lastFailure = undefined;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.#lastFailure) {
        this.#lastFailure = message;
        logger.error({ err: message }, `API keys not reloaded, the ${this.#table?.size ?? 0} keys read before stay in force`);
      }
      throw err;
    }
  }

  #swap(table: KeyTable, read: string): void {
    const before = this.#table?.size;
    this.#table = table;
    this.#lastRead = read;
    this.#deps.logger.info({ keys: table.size, ...(before !== undefined ? { before } : {}) }, before === undefined ? 'API keys loaded' : 'API keys reloaded');
  }
}

/** The entries of a keys file; throws naming the file and the field of the first problem. */
export function parseKeysFile(text: string, path: string): ApiKeyEntry[] {
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (err) {
    throw new Error(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  const result = apiKeysFileSchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid keys file ${path}: ${problems.join('; ')}`);
  }
  return result.data.keys;
}

/**
 * The entries of the Redis hash, each field a key's name and its value the entry as JSON (without the name). A
 * bad entry is left out and logged: one operator's typo must not revoke every other key.
 */
function entriesOfHash(fields: Record<string, string>, logger: Logger): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const digests = new Set<string>();
  for (const [name, value] of Object.entries(fields)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      logger.warn({ key: name }, 'API key entry in Redis is not JSON: left out');
      continue;
    }
    const result = apiKeyEntrySchema.safeParse({ ...(typeof parsed === 'object' && parsed !== null ? parsed : {}), name });
    if (!result.success || digests.has(result.data.sha256)) {
      logger.warn({ key: name, problems: result.success ? ['the same key is listed under another name'] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'API key entry in Redis is invalid: left out');
      continue;
    }
    digests.add(result.data.sha256);
    entries.push(result.data);
  }
  return entries;
}
