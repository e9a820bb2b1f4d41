// The `hello` system: a trivial node:http server in its own process that
// reads the request body and answers a small JSON, so a run against it shows
// the load generator's own ceiling on this machine (anything else measured
// in the same run can be at most this fast).
//
//   node benchmarks/lib/hello-server.ts [--port 0] [--host 127.0.0.1]
//
// Prints "hello listening on http://HOST:PORT" when ready; SIGTERM/SIGINT
// close it (exit 0).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
const ANSWER = Buffer.from('{"model_name":"hello","outputs":[]}');

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': ANSWER.byteLength });
    res.end(ANSWER);
  });
});

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address() as AddressInfo;
  process.stdout.write(`hello listening on http://${address}:${port}\n`);
});

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
