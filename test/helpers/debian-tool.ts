// A command-line tool out of a Debian package, without installing the package
// (and so without starting its service): `promtool` from `prometheus`, for
// example. Looked for, in order: an environment override, PATH, a cache dir
// under the OS temp dir, and last `apt-get download` + `dpkg -x` into that
// cache. Tests skip with the reason when none of these gives the tool.
//
// Several test files may ask at once (tap runs files in parallel): each
// download is unpacked into its own temp dir and renamed into place, so a
// reader sees either no cache dir or a complete one.

import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

export type DebianTool = {
  /** The Debian package that ships the tool. */
  packageName: string;
  /** The binary's path inside the package, as `dpkg -x` lays it out (no leading slash). */
  binary: string;
  /** An environment variable that, when set, names the binary to use instead. */
  envVar?: string;
};

/** The binary's absolute path, or why it cannot be had. */
export type ToolLookup = string | { unavailable: string };

export type DebianToolOptions = {
  /** Where unpacked packages are kept between runs; default `<os tmpdir>/infergate-debian-tools`. */
  cacheRoot?: string;
  /** Lookups only: no download (for tests of the lookup itself). */
  download?: boolean;
  env?: NodeJS.ProcessEnv;
};

export const PROMTOOL: DebianTool = { packageName: 'prometheus', binary: 'usr/bin/promtool', envVar: 'PROMTOOL_BIN' };

const DOWNLOAD_TIMEOUT_MS = 180_000;

export function defaultCacheRoot(): string {
  return join(tmpdir(), 'infergate-debian-tools');
}

/** `promtool`, from the `prometheus` package. */
export function promtool(options: DebianToolOptions = {}): Promise<ToolLookup> {
  return debianTool(PROMTOOL, options);
}

export function debianTool(tool: DebianTool, options: DebianToolOptions = {}): Promise<ToolLookup> {
  return find(tool, options, options.env ?? process.env);
}

async function find(tool: DebianTool, options: DebianToolOptions, env: NodeJS.ProcessEnv): Promise<ToolLookup> {
  const override = tool.envVar ? env[tool.envVar] : undefined;
  if (override) return (await isExecutable(override)) ? override : { unavailable: `${tool.envVar}=${override} is not an executable file` };

  const onPath = await findOnPath(basename(tool.binary), env.PATH ?? '');
  if (onPath) return onPath;

  const cacheRoot = options.cacheRoot ?? defaultCacheRoot();
  const cached = join(cacheRoot, tool.packageName, tool.binary);
  if (await isExecutable(cached)) return cached;
  if (options.download === false) return { unavailable: `${basename(tool.binary)} is not on PATH nor in ${cacheRoot}` };
  return download(tool, cacheRoot);
}

async function findOnPath(name: string, path: string): Promise<string | null> {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type Run = { ok: true } | { ok: false; output: string };

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: DOWNLOAD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) resolve({ ok: true });
      else resolve({ ok: false, output: `${error.message}\n${stdout}${stderr}`.trim().split('\n').slice(-6).join('\n') });
    });
  });
}

/**
 * Downloads the package into a private temp dir next to the cache dir (same file system, so the final rename is
 * atomic), unpacks it there and renames the unpacked tree into place. A stale package list (a fresh machine, or a
 * version the mirror dropped) makes the download fail: then, as root, the lists are refreshed once and it is retried.
 */
async function download(tool: DebianTool, cacheRoot: string): Promise<ToolLookup> {
  const { packageName, binary } = tool;
  await mkdir(cacheRoot, { recursive: true });
  const work = await mkdtemp(join(cacheRoot, `.${packageName}-`));
  try {
    let fetched = await run('apt-get', ['download', packageName], work);
    if (!fetched.ok && process.getuid?.() === 0) {
      const updated = await run('apt-get', ['update', '-o', 'DPkg::Lock::Timeout=120'], work);
      fetched = updated.ok ? await run('apt-get', ['download', packageName], work) : updated;
    }
    if (!fetched.ok) return { unavailable: `apt-get download ${packageName} failed: ${fetched.output}` };

    const deb = (await readdir(work)).find((name) => name.startsWith(`${packageName}_`) && name.endsWith('.deb'));
    if (!deb) return { unavailable: `apt-get download ${packageName} left no .deb in ${work}` };
    const tree = join(work, 'tree');
    const unpacked = await run('dpkg', ['-x', deb, tree], work);
    if (!unpacked.ok) return { unavailable: `dpkg -x ${deb} failed: ${unpacked.output}` };
    if (!(await isExecutable(join(tree, binary)))) return { unavailable: `${packageName} has no executable ${binary}` };

    const final = join(cacheRoot, packageName);
    try {
      await rename(tree, final);
    } catch (error) {
      // Another process put its copy in place first: use that one.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
    const path = join(final, binary);
    return (await isExecutable(path)) ? path : { unavailable: `${final} exists without ${binary}: remove it to download again` };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
