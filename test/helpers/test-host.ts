// A test host: a network namespace joined to this machine by a veth pair on
// a private /30 of 10.250.0.0/16, made by the test and removed at teardown.
// A client run inside it reaches servers here at `hostAddress` and is seen
// by them as `clientAddress`: another machine, without sending anything to
// this machine's own external address or beyond. Needs root and iproute2;
// `available()` says why not, for a test to skip with that reason.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

type Teardown = { teardown(fn: () => unknown): void };

export type TestHost = {
  /** This machine's end of the link: where the test host reaches servers bound to 0.0.0.0 here. */
  hostAddress: string;
  /** The test host's own address, as servers here see it. */
  clientAddress: string;
  /** Runs `node -e <script>` inside the test host; resolves with what it printed. */
  node(script: string): Promise<string>;
  /** Starts `node <args>` inside the test host, killed at teardown (SIGKILL if still running). */
  spawnNode(args: readonly string[]): ChildProcess;
  /** The link goes down (packets are dropped, nothing is refused: a partition) or comes back up. */
  linkDown(): void;
  linkUp(): void;
};

let made = 0;

/** Why no test host can be made here, or undefined when one can. */
export function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'making a network namespace needs root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'iproute2 (ip netns) is not available';
  }
}

export function makeTestHost(t: Teardown): TestHost {
  const n = made++;
  // Names of at most 15 characters; one /30 per process and host, so parallel test files do not collide.
  const id = `${process.pid % 10_000}x${n}`;
  const namespace = `ig-${id}`;
  const hostSide = `igh${id}`;
  const peer = `igp${id}`;
  const subnet = (process.pid * 7 + n) % 16_384;
  const base = `10.250.${Math.floor(subnet / 64)}.${(subnet % 64) * 4}`;
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const clientAddress = `${a}.${b}.${c}.${d + 2}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const remove = () => {
    for (const args of [['netns', 'del', namespace], ['link', 'del', hostSide]]) {
      try {
        ip(...args);
      } catch {
        // already gone (deleting the namespace removes the pair)
      }
    }
  };
  t.teardown(remove);
  ip('netns', 'add', namespace);
  ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', peer);
  ip('link', 'set', peer, 'netns', namespace);
  ip('addr', 'add', `${hostAddress}/30`, 'dev', hostSide);
  ip('link', 'set', hostSide, 'up');
  ip('-n', namespace, 'addr', 'add', `${clientAddress}/30`, 'dev', peer);
  ip('-n', namespace, 'link', 'set', peer, 'up');
  ip('-n', namespace, 'link', 'set', 'lo', 'up');
  return {
    hostAddress,
    clientAddress,
    spawnNode: (args) => {
      // `ip netns exec` runs the program in place of itself: the child is node.
      const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      t.teardown(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      return child;
    },
    linkDown: () => ip('link', 'set', hostSide, 'down'),
    linkUp: () => ip('link', 'set', hostSide, 'up'),
    node: async (script) => {
      const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk));
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`node in test host ${namespace} exited ${code}: ${err}`);
      return out;
    },
  };
}
