// Binds a server and resolves once it listens, or rejects with the bind's
// error (a port taken, a socket path that cannot be created).

import type { ListenOptions, Server } from 'node:net';

export function listening(server: Pick<Server, 'listen' | 'once' | 'off'>, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
