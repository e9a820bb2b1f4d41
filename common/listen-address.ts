// A worker's listen address (HTTP and mux) and its text form on the command
// line: read by the worker's parser, written by whoever spawns a worker.

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** `unix:/path`, `host:port` or `[v6addr]:port` (port 0 = any free port). Throws RangeError saying what is wrong. */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new RangeError('unix: needs a socket path');
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is neither unix:/path nor host:port`);
  const port = Number(match[3]);
  if (port > 65_535) throw new RangeError(`port ${port} is out of range`);
  return { kind: 'tcp', host: (match[1] ?? match[2])!, port };
}

/** How an address is printed: the inverse of parseListenAddress. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
