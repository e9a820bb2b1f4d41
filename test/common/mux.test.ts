// The mux framing: round trips whatever the chunking, views vs copies, request
// frames placed 8-byte aligned, protocol errors, and the coalescing writer.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import t from 'tap';
import {
  decodeMuxError,
  encodeMuxError,
  encodeMuxHeader,
  MUX_HEADER_BYTES,
  MUX_KIND,
  MuxDecoder,
  MuxProtocolError,
  type MuxKind,
  type MuxMessage,
} from '../../common/mux.ts';
import { MuxWriter } from '../../common/mux-writer.ts';
import { encodeFrame, type InferRequestHeader } from '../../common/wire.ts';

function message(id: number, kind: MuxKind, body: Uint8Array): Buffer {
  return Buffer.concat([encodeMuxHeader(id, kind, body.byteLength), body]);
}

function requestFrame(model: string, values: number[]): Buffer {
  const data = new Uint8Array(new Float64Array(values).buffer);
  return encodeFrame<InferRequestHeader>({ model, version: '1' }, [{ name: 'x', datatype: 'FP64', shape: [values.length], data }]);
}

const MESSAGES: MuxMessage[] = [
  { id: 0, kind: MUX_KIND.request, body: requestFrame('a', [1, 2, 3]) },
  { id: 1, kind: MUX_KIND.responseOk, body: Buffer.from('hello') },
  { id: 0xffff_ffff, kind: MUX_KIND.responseError, body: encodeMuxError(503, { code: 'GW_ERR_SHUTTING_DOWN', message: 'bye' }) },
  { id: 7, kind: MUX_KIND.responseOk, body: new Uint8Array(0) },
  { id: 8, kind: MUX_KIND.request, body: requestFrame('model-with-a-longer-name', [4]) },
];
const STREAM = Buffer.concat(MESSAGES.map((m) => message(m.id, m.kind, m.body)));

function plain(messages: MuxMessage[]) {
  return messages.map((m) => ({ id: m.id, kind: m.kind, body: Buffer.from(m.body).toString('hex') }));
}

t.test('many messages in one chunk decode in order, bodies as views of the chunk', async (t) => {
  const decoder = new MuxDecoder({ maxBodyBytes: 1 << 20 });
  const out = decoder.push(STREAM);
  t.same(plain(out), plain(MESSAGES));
  t.equal(out[1]!.body.buffer, STREAM.buffer, 'a body inside one chunk is not copied');
  t.equal(decoder.buffered, 0);
});

t.test('a stream split at every byte boundary, and byte by byte, decodes the same', async (t) => {
  for (let cut = 0; cut <= STREAM.byteLength; cut++) {
    const decoder = new MuxDecoder({ maxBodyBytes: 1 << 20 });
    const out = [...decoder.push(STREAM.subarray(0, cut)), ...decoder.push(STREAM.subarray(cut))];
    if (JSON.stringify(plain(out)) !== JSON.stringify(plain(MESSAGES))) t.fail(`cut at ${cut}`);
  }
  const decoder = new MuxDecoder({ maxBodyBytes: 1 << 20, alignRequestFrames: true });
  const out: MuxMessage[] = [];
  for (let i = 0; i < STREAM.byteLength; i++) out.push(...decoder.push(STREAM.subarray(i, i + 1)));
  t.same(plain(out), plain(MESSAGES));
});

t.test('request frames come out with 8-byte aligned tensor bytes whatever the chunking', async (t) => {
  const frame = requestFrame('m', [1.5, 2.5]);
  const headerLength = frame.readUInt32LE(0);
  for (let lead = 0; lead < 8; lead++) {
    // `lead` junk-free bytes before the message shift it against the chunk's alignment.
    const padding = message(99, MUX_KIND.responseOk, new Uint8Array(lead));
    const stream = Buffer.concat([padding, message(1, MUX_KIND.request, frame)]);
    for (const cut of [0, padding.byteLength + MUX_HEADER_BYTES + 2, stream.byteLength - 3]) {
      const decoder = new MuxDecoder({ maxBodyBytes: 1 << 20, alignRequestFrames: true });
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      const body = out.find((m) => m.id === 1)!.body;
      t.equal((body.byteOffset + 4 + headerLength) % 8, 0, `lead ${lead}, cut ${cut}`);
      t.same(Buffer.from(body), frame);
    }
  }
});

t.test('protocol errors: unknown kind, body over the limit', async (t) => {
  const bad = Buffer.from(encodeMuxHeader(1, MUX_KIND.request, 0));
  bad[8] = 9;
  t.throws(() => new MuxDecoder({ maxBodyBytes: 10 }).push(bad), MuxProtocolError);
  t.throws(() => new MuxDecoder({ maxBodyBytes: 10 }).push(encodeMuxHeader(1, MUX_KIND.request, 11)), /exceeds 10/);
});

t.test('error bodies carry the status and {code, message}', async (t) => {
  t.same(decodeMuxError(encodeMuxError(404, { code: 'GW_ERR_MODEL_NOT_FOUND', message: 'm' })), {
    status: 404,
    body: { code: 'GW_ERR_MODEL_NOT_FOUND', message: 'm' },
  });
  t.equal(decodeMuxError(new Uint8Array(1)).status, 500);
  t.equal(decodeMuxError(Buffer.from([0x90, 0x01, 0x7b])).status, 400, 'unreadable JSON keeps the status');
});

class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  writable = true;
  corked = 0;
  write(chunk: Uint8Array): boolean {
    this.writes.push(Buffer.from(chunk));
    return true;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {}
}

t.test('the writer sends the messages of one event-loop turn in one write', async (t) => {
  const socket = new FakeSocket();
  const writer = new MuxWriter(socket as unknown as Socket);
  for (const m of MESSAGES) writer.write(m.id, m.kind, m.body);
  t.equal(socket.writes.length, 0, 'nothing written synchronously');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(socket.writes.length, 1);
  t.same(socket.writes[0], STREAM);

  writer.write(5, MUX_KIND.responseOk, Buffer.alloc(100_000));
  writer.flush();
  t.equal(socket.corked, 1, 'large batches are corked, not concatenated');
  t.equal(Buffer.concat(socket.writes.slice(1)).byteLength, MUX_HEADER_BYTES + 100_000);

  writer.write(6, MUX_KIND.responseOk, Buffer.alloc(1));
  writer.discard();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(socket.writes.length, 3, 'discarded messages are not written');
});

t.test('the writer reuses its flush buffer only once the kernel took the previous write', async (t) => {
  const written: Uint8Array[] = [];
  const socket = { writable: true, writableLength: 0, write: (chunk: Uint8Array) => written.push(chunk) };
  const writer = new MuxWriter(socket as unknown as Socket);
  writer.write(1, MUX_KIND.request, Buffer.from('first'));
  writer.flush();
  const firstBytes = Buffer.from(written[0]!);
  writer.write(2, MUX_KIND.request, Buffer.from('second'));
  writer.flush();
  t.equal(written[1]!.buffer, written[0]!.buffer, 'a write the kernel took whole frees the buffer for the next flush');
  t.same(Buffer.from(written[1]!), message(2, MUX_KIND.request, Buffer.from('second')));

  socket.writableLength = 5; // the kernel kept some of the next write back: its bytes are still referenced
  writer.write(3, MUX_KIND.request, Buffer.from('third'));
  writer.flush();
  const pending = Buffer.from(written[2]!);
  writer.write(4, MUX_KIND.request, Buffer.from('fourth'));
  writer.flush();
  t.not(written[3]!.buffer, written[2]!.buffer, 'a write still pending keeps its buffer');
  t.same(Buffer.from(written[2]!), pending, 'and its bytes are left alone');
  t.same(firstBytes, message(1, MUX_KIND.request, Buffer.from('first')));
});
