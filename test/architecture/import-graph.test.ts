// The import graph of the product's code, read from the sources: no file
// imports itself back through others (no cycle, type-only imports
// included), and every import between folders runs down the floors below,
// never up or sideways. A new folder must be given its floor here.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Lower floors know nothing of higher ones. Folders on one floor do not import each other: the gateway's
 * sources, its upstream and its model registry are peers, as are the batcher and the cache.
 */
const FLOORS: Record<string, number> = {
  config: 0,
  common: 1,
  'common/kserve': 2,
  'common/onnx': 2,
  'common/charts': 2,
  worker: 3,
  'worker/optimize': 4,
  'gateway/balancer': 3,
  'gateway/ratelimit': 3,
  'gateway/tls': 3,
  'gateway/resilience': 3,
  'gateway/telemetry': 3,
  'gateway/health': 4,
  'gateway/access': 4,
  'gateway/replicas': 5,
  'gateway/upstream': 6,
  'gateway/models': 6,
  'gateway/sources': 6,
  'gateway/supervisor': 6,
  'gateway/batching': 7,
  'gateway/cache': 7,
  'gateway/repository': 7,
  'gateway/scaling': 7,
  'gateway/infer': 8,
  'gateway/http': 9,
  'gateway/observability': 9,
  'gateway/rollout': 9,
  'gateway/processes': 10,
  'gateway/grpc': 10,
  'gateway/fleet': 10,
  gateway: 11,
  bin: 12,
};

/** The process a folder belongs to: the gateway and the worker share only config/ and common/. */
function tower(folder: string): string {
  return folder.split('/')[0]!;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir))) {
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) files.push(...sourceFiles(path));
    else if (path.endsWith('.ts')) files.push(path);
  }
  return files;
}

/** Relative imports and re-exports of a file, as paths from the repository root (type-only ones included). */
function importsOf(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

type Graph = Map<string, string[]>;

/** Imports that run up a floor, sideways, or from the gateway into the worker (or back). */
function upwardImports(graph: Graph): string[] {
  const upward: string[] = [];
  for (const [file, imports] of graph) {
    const from = dirname(file);
    for (const target of imports) {
      const to = dirname(target);
      if (to === from) continue;
      const reachable = tower(from) === tower(to) || ['config', 'common'].includes(tower(to)) || tower(from) === 'bin';
      if (!reachable || !(FLOORS[to]! < FLOORS[from]!)) upward.push(`${file} → ${target}`);
    }
  }
  return upward;
}

function cyclesOf(graph: Graph): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

const files = ['config', 'common', 'worker', 'gateway', 'bin'].flatMap(sourceFiles);
const graph: Graph = new Map(files.map((file) => [file, importsOf(file)]));

t.test('the checks catch what they look for', async (t) => {
  const made: Graph = new Map([
    ['gateway/http/a.ts', ['gateway/http/b.ts', 'gateway/replicas/c.ts']],
    ['gateway/http/b.ts', ['gateway/http/a.ts']],
    ['gateway/replicas/c.ts', ['gateway/infer/d.ts', 'worker/e.ts']],
    ['gateway/infer/d.ts', []],
    ['gateway/models/f.ts', ['gateway/sources/g.ts']],
  ]);
  t.same(cyclesOf(made), ['gateway/http/a.ts → gateway/http/b.ts → gateway/http/a.ts']);
  t.same(upwardImports(made), ['gateway/replicas/c.ts → gateway/infer/d.ts', 'gateway/replicas/c.ts → worker/e.ts', 'gateway/models/f.ts → gateway/sources/g.ts']);
});

t.test('every folder with code has a floor', async (t) => {
  const folders = new Set(files.map((f) => dirname(f)));
  for (const folder of folders) t.ok(folder in FLOORS, `${folder} has a floor`);
});

t.test('imports between folders run down the floors', async (t) => {
  t.same(upwardImports(graph), [], 'no import runs up a floor, sideways, or across from gateway to worker');
});

t.test('no import cycle, type-only imports included', async (t) => {
  t.same(cyclesOf(graph), []);
});
