// The multiplexed gateway ↔ worker channel: one persistent stream socket per
// worker carrying length-prefixed messages tagged by a request id, so many
// inferences share one connection and answers may come back in any order.
// It replaces one HTTP/1.1 request per inference (undici's per-request
// machinery and one writev each), a large share of the gateway's CPU per
// request (docs/performance.md, "Gateway → worker channel").
//
// Message layout (all integers little-endian):
//
//   0          4           8      9
//   ┌──────────┬───────────┬──────┬──────────────────────────┐
//   │ L: u32   │ id: u32   │ kind │ body (L bytes)           │
//   └──────────┴───────────┴──────┴──────────────────────────┘
//
//   kind 1 request         body = an infer request frame (common/wire.ts)
//   kind 2 response-ok     body = the infer response frame
//   kind 3 response-error  body = status: u16 LE (the catalogued HTTP status)
//                                 followed by JSON {code, message} (UTF-8)
//
// A response carries the id of its request. Ids are chosen by the client and
// wrap at 2^32; the server treats them as opaque.


export const MUX_HEADER_BYTES = 9;

/** hello: the gateway's worker token (UTF-8), the first message on a connection to a worker that asks for one. */
export const MUX_KIND = { request: 1, responseOk: 2, responseError: 3, hello: 4 } as const;
export type MuxKind = (typeof MUX_KIND)[keyof typeof MUX_KIND];

export type MuxMessage = { id: number; kind: MuxKind; body: Uint8Array };

/** The unix socket a worker's mux channel listens on, next to its HTTP socket. */
export function muxSocketPathFor(httpSocketPath: string): string {
  return `${httpSocketPath}.mux`;
}

export function encodeMuxHeader(id: number, kind: MuxKind, bodyLength: number): Buffer {
  const header = Buffer.allocUnsafe(MUX_HEADER_BYTES);
  header.writeUInt32LE(bodyLength, 0);
  header.writeUInt32LE(id >>> 0, 4);
  header[8] = kind;
  return header;
}

/** Body of a response-error message. */
export function encodeMuxError(status: number, error: { code: string; message: string }): Buffer {
  const json = Buffer.from(JSON.stringify({ code: error.code, message: error.message }), 'utf8');
  const body = Buffer.allocUnsafe(2 + json.byteLength);
  body.writeUInt16LE(status, 0);
  json.copy(body, 2);
  return body;
}

/** Reads a response-error body; an unreadable one becomes a 500 GW_ERR_INTERNAL. */
export function decodeMuxError(body: Uint8Array): { status: number; body: unknown } {
  const internal = { status: 500, body: { code: 'GW_ERR_INTERNAL', message: 'worker answered an unreadable mux error' } };
  if (body.byteLength < 2) return internal;
  const status = body[0]! | (body[1]! << 8);
  try {
    return { status, body: JSON.parse(Buffer.from(body.buffer, body.byteOffset + 2, body.byteLength - 2).toString('utf8')) };
  } catch {
    return { ...internal, status };
  }
}

export class MuxProtocolError extends Error {
  override name = 'MuxProtocolError';
}

export type MuxDecoderOptions = {
  /** A message body above this is a protocol error (the peer is broken or hostile). */
  maxBodyBytes: number;
  /**
   * Place request bodies so their tensor bytes (after the frame's 4 + H header
   * bytes) start 8-byte aligned, as worker/body.ts alignedFrame does for HTTP
   * bodies: the worker's tensor views are then free. A view already aligned is
   * kept; otherwise the body is copied once into an aligned buffer.
   */
  alignRequestFrames?: boolean;
};

/**
 * Turns arbitrary socket chunks into whole messages. Chunks are kept in a list
 * and never concatenated: a body that lies inside one chunk is returned as a
 * view of it, a body split across chunks is assembled once into its own buffer.
 * Only the 9 header bytes may be copied byte by byte when they straddle chunks.
 */
export class MuxDecoder {
  readonly #maxBodyBytes: number;
  readonly #align: boolean;
  readonly #chunks: Uint8Array[] = [];
  /** Bytes consumed from #chunks[0]. */
  #head = 0;
  /** Unconsumed bytes across #chunks. */
  #buffered = 0;
  /** Header of the message whose body is awaited, or null between messages. */
  #pending: { id: number; kind: MuxKind; length: number } | null = null;
  /** A large body being assembled as its chunks arrive, and how much of it is filled. */
  #assembling: { target: Uint8Array; filled: number } | null = null;
  readonly #scratch = new Uint8Array(MUX_HEADER_BYTES);

  constructor(options: MuxDecoderOptions) {
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#align = options.alignRequestFrames ?? false;
  }

  /** Bytes received and not yet returned as part of a message. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds a chunk; returns the messages it completed, in order. Throws MuxProtocolError. */
  push(chunk: Uint8Array): MuxMessage[] {
    const out: MuxMessage[] = [];
    if (chunk.byteLength === 0) return out;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (!this.#pending) {
        if (this.#buffered < MUX_HEADER_BYTES) break;
        const h = this.#take(MUX_HEADER_BYTES, true);
        const length = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        const id = (h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24)) >>> 0;
        const kind = h[8]!;
        if (kind !== MUX_KIND.request && kind !== MUX_KIND.responseOk && kind !== MUX_KIND.responseError && kind !== MUX_KIND.hello) {
          throw new MuxProtocolError(`unknown message kind ${kind}`);
        }
        if (length > this.#maxBodyBytes) throw new MuxProtocolError(`message body of ${length} bytes exceeds ${this.#maxBodyBytes}`);
        this.#pending = { id, kind, length };
      }
      const { id, kind, length } = this.#pending;
      const align = this.#align && kind === MUX_KIND.request;
      if (this.#buffered < length - (this.#assembling?.filled ?? 0)) {
        // A large body still arriving is copied in chunk by chunk rather than in one go once complete: joining
        // tens of megabytes (page faults included) would hold the event loop for as many milliseconds.
        if (length >= ASSEMBLE_MIN_BYTES) this.#assemble(length, align);
        break;
      }
      this.#pending = null;
      const assembling = this.#assembling;
      if (assembling) {
        this.#assembling = null;
        const rest = length - assembling.filled;
        if (rest > 0) assembling.target.set(this.#take(rest, false), assembling.filled);
        out.push({ id, kind, body: assembling.target });
        continue;
      }
      out.push({ id, kind, body: this.#take(length, false, align) });
    }
    return out;
  }

  /** Moves every buffered byte of the pending (large, incomplete) body into its own buffer. */
  #assemble(length: number, align: boolean): void {
    if (!this.#assembling) {
      const target = align ? alignedBuffer(this.#peekPrefix(), length) : Buffer.allocUnsafe(length);
      this.#assembling = { target, filled: 0 };
    }
    const assembling = this.#assembling;
    while (this.#buffered > 0) {
      const c = this.#chunks[0]!;
      const part = c.subarray(this.#head);
      assembling.target.set(part, assembling.filled);
      assembling.filled += part.byteLength;
      this.#buffered -= part.byteLength;
      this.#advance(part.byteLength);
    }
  }

  /** Consumes n buffered bytes: a view when they lie in one chunk (and alignment allows), else one copy. */
  #take(n: number, header: boolean, align = false): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0 || !first) return new Uint8Array(0);
    if (first.byteLength - this.#head >= n) {
      const view = first.subarray(this.#head, this.#head + n);
      this.#advance(n);
      if (!align || isAligned(view)) return view;
      const copy = alignedBuffer(view, n);
      copy.set(view);
      return copy;
    }
    const target = header ? this.#scratch : align ? alignedBuffer(this.#peekPrefix(), n) : Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const part = Math.min(n - filled, c.byteLength - this.#head);
      target.set(c.subarray(this.#head, this.#head + part), filled);
      filled += part;
      this.#advance(part);
    }
    return target;
  }

  #advance(n: number): void {
    this.#head += n;
    if (this.#head === this.#chunks[0]!.byteLength) {
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  /** Up to the first 4 unconsumed bytes (a frame's header length), which may straddle chunks. */
  #peekPrefix(): Uint8Array {
    const prefix = new Uint8Array(4);
    let read = 0;
    let head = this.#head;
    for (const c of this.#chunks) {
      for (let i = head; i < c.byteLength && read < 4; i++) prefix[read++] = c[i]!;
      head = 0;
      if (read === 4) break;
    }
    return prefix.subarray(0, read);
  }
}

const ALIGNMENT = 8;

/** Bodies at least this large are assembled as their chunks arrive (see #assemble). */
const ASSEMBLE_MIN_BYTES = 1024 * 1024;

function frameHeaderLength(prefix: Uint8Array): number {
  if (prefix.byteLength < 4) return 0;
  return (prefix[0]! | (prefix[1]! << 8) | (prefix[2]! << 16) | (prefix[3]! << 24)) >>> 0;
}

/** Whether a frame's tensor bytes (after its 4 + H header bytes) start 8-byte aligned. */
function isAligned(frame: Uint8Array): boolean {
  return frame.byteLength < 4 || (frame.byteOffset + 4 + frameHeaderLength(frame)) % ALIGNMENT === 0;
}

/** An uninitialised n-byte buffer placed so that a frame starting with `prefix` has aligned tensor bytes. */
function alignedBuffer(prefix: Uint8Array, n: number): Uint8Array {
  const alloc = Buffer.allocUnsafeSlow(n + ALIGNMENT - 1);
  const pad = (ALIGNMENT - ((alloc.byteOffset + 4 + frameHeaderLength(prefix)) % ALIGNMENT)) % ALIGNMENT;
  return alloc.subarray(pad, pad + n);
}
