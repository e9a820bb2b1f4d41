// Shared by the benchmark tests: start a fixture server as its own process
// (so a stalling server never shares the load generator's event loop), and
// stop it at teardown.

import { join } from 'node:path';
import { ProcessGroup } from '../../benchmarks/lib/processes.ts';

type Teardown = { teardown(fn: () => unknown): void };

/** Starts test/benchmarks/fixtures/<file> with `args`; resolves to its origin (http://127.0.0.1:PORT). */
export async function startFixture(t: Teardown, file: string, args: string[] = []): Promise<string> {
  const processes = new ProcessGroup();
  t.teardown(() => processes.stopAll());
  const { match } = await processes.start(file, process.execPath, [join(import.meta.dirname, 'fixtures', file), ...args], {
    ready: /listening on (http:\/\/\S+)/,
    readyTimeoutMs: 30_000,
  });
  return match![1]!;
}

/**
 * A small well-formedness check for the SVG we write (no DTDs, CDATA or
 * processing instructions): one <svg> root, every tag closed in order, no
 * stray '<' or unescaped '&'. Returns the problems found (empty = fine).
 */
export function svgProblems(text: string): string[] {
  const problems: string[] = [];
  if (!/^<svg\b[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(text)) problems.push('does not start with an <svg xmlns=…> root');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let roots = 0;
  for (let m = tag.exec(text); m !== null; m = tag.exec(text)) {
    const between = text.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) problems.push(`malformed markup near ${JSON.stringify(between.slice(0, 40))}`);
    if (/&(?!(?:lt|gt|amp|quot|apos|#\d+);)/.test(between)) problems.push(`unescaped & in ${JSON.stringify(between.slice(0, 40))}`);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  if (text.slice(last).trim() !== '') problems.push('text after the root element');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
