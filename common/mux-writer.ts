// The writing half of the mux channel (framing in mux.ts): messages of one
// event-loop turn leave in one socket write, their 9-byte headers written in
// place in front of their bodies.

import type { Socket } from 'node:net';
import { encodeMuxHeader, MUX_HEADER_BYTES, type MuxKind } from './mux.ts';

/** Below this many queued bytes a flush concatenates (one copy, one write); above it, a corked writev avoids copying big tensors. */
const CONCAT_LIMIT_BYTES = 64 * 1024;

/** A message waiting for the flush: its header is written straight into the flush buffer, never allocated apart. */
type QueuedMessage = { id: number; kind: MuxKind; length: number; parts: Uint8Array | readonly Uint8Array[] };

/**
 * Coalesces messages written in one turn of the event loop into one
 * socket.write. The flush runs on setImmediate (after the poll phase), not on a
 * microtask: answers and requests are produced by separate I/O callbacks of
 * the same poll phase, which a microtask flush would not join: it cost the
 * gateway more CPU per request (docs/performance.md, "Mux write
 * coalescing"). Concatenating and a corked writev cost about the same for
 * small messages; writev avoids copying big tensors, hence the limit.
 *
 * A concatenating flush writes into one pooled buffer, reused by the next
 * flush once the kernel took the whole write (the socket's writable length is
 * back to 0, so nothing refers to it any more); a write the kernel could not
 * take at once keeps its buffer, and the next flush starts a new one.
 */
export class MuxWriter {
  readonly #socket: Socket;
  #queued: QueuedMessage[] = [];
  #bytes = 0;
  #scheduled: NodeJS.Immediate | null = null;
  #pool: Buffer | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Queues a message; a body given as parts is written part by part, never joined (see wire.ts encodeFrameBytes). */
  write(id: number, kind: MuxKind, body: Uint8Array | readonly Uint8Array[]): void {
    let length = 0;
    if (body instanceof Uint8Array) length = body.byteLength;
    else for (const part of body) length += part.byteLength;
    this.#queued.push({ id, kind, length, parts: body });
    this.#bytes += MUX_HEADER_BYTES + length;
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Writes whatever is queued now. */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    const queued = this.#queued;
    const bytes = this.#bytes;
    this.#queued = [];
    this.#bytes = 0;
    if (queued.length === 0 || !this.#socket.writable) return;
    if (bytes > CONCAT_LIMIT_BYTES) return this.#writeParts(queued);
    const out = this.#pooled(bytes);
    let offset = 0;
    for (const message of queued) {
      offset = putHeader(out, offset, message);
      const { parts } = message;
      if (parts instanceof Uint8Array) {
        out.set(parts, offset);
        offset += parts.byteLength;
      } else {
        for (const part of parts) {
          out.set(part, offset);
          offset += part.byteLength;
        }
      }
    }
    this.#socket.write(out);
    if (this.#socket.writableLength !== 0) this.#pool = null;
  }

  /** Drops queued messages (the socket is gone). */
  discard(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    this.#queued = [];
    this.#bytes = 0;
  }

  /** `bytes` bytes of the pooled buffer, grown (to the next power of two) when too small. */
  #pooled(bytes: number): Buffer {
    if (!this.#pool || this.#pool.byteLength < bytes) this.#pool = Buffer.allocUnsafeSlow(Math.max(4096, 2 ** Math.ceil(Math.log2(bytes))));
    return this.#pool.subarray(0, bytes);
  }

  #writeParts(queued: readonly QueuedMessage[]): void {
    this.#socket.cork();
    for (const message of queued) {
      this.#socket.write(encodeMuxHeader(message.id, message.kind, message.length));
      if (message.parts instanceof Uint8Array) this.#socket.write(message.parts);
      else for (const part of message.parts) this.#socket.write(part);
    }
    this.#socket.uncork();
  }
}

function putHeader(out: Buffer, offset: number, message: QueuedMessage): number {
  out.writeUInt32LE(message.length, offset);
  out.writeUInt32LE(message.id >>> 0, offset + 4);
  out[offset + 8] = message.kind;
  return offset + MUX_HEADER_BYTES;
}
