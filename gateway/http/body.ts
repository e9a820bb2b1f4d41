// Reads a request body into one buffer, refusing more than `maxBytes`: a
// declared Content-Length over the limit is refused before reading, and a
// body that grows past it while streaming is cut off at the limit, so a
// client can never make the gateway buffer more than the limit.

import type { IncomingMessage } from 'node:http';
import { InfergateError } from '../../common/errors.ts';

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(tooLarge(declared, maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.byteLength;
      if (received > maxBytes) {
        req.off('data', onData);
        // Discard the rest instead of pausing: the 413 answer then reaches a
        // client that is still sending, rather than a reset connection.
        req.resume();
        reject(tooLarge(received, maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)));
    req.once('error', (err) => reject(new InfergateError('GW_ERR_INVALID_REQUEST', `request body: ${err.message}`)));
    req.once('aborted', () => reject(new InfergateError('GW_ERR_INVALID_REQUEST', 'client aborted the request')));
  });
}

function tooLarge(bytes: number, maxBytes: number): InfergateError {
  return new InfergateError('GW_ERR_BODY_TOO_LARGE', `${bytes} bytes > limit of ${maxBytes} (server.maxBodyBytes)`);
}
