// An HTTP/1.1 client on a raw socket, for what ordinary clients hide: an
// interim `100 Continue`, whether the server keeps the connection, the exact
// headers. Answers are read one at a time, framed by Content-Length (a HEAD
// answer, a 1xx or a 204 has no body).

import { connect, type Socket } from 'node:net';

export type RawAnswer = { status: number; headers: Record<string, string>; body: Buffer };

export class RawConnection {
  readonly socket: Socket;
  /** Resolves when the server ends the connection. */
  readonly closed: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => {
      const end = (): void => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      };
      socket.once('close', end);
      socket.once('end', end);
    });
    socket.on('error', () => {});
  }

  /** A connection to 127.0.0.1, from `localAddress` when given (another loopback address: a client of its own). */
  static open(port: number, localAddress?: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** The next answer on the connection (an interim 1xx counts as one); rejects if the connection ends first. */
  async next(options: { head?: boolean } = {}): Promise<RawAnswer> {
    for (;;) {
      const answer = this.#take(options.head === true);
      if (answer) return answer;
      if (this.#ended) throw new Error(`connection ended with ${this.#buffer.byteLength} unparsed bytes`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Whether the server has sent bytes that are not read yet. */
  get pending(): number {
    return this.#buffer.byteLength;
  }

  close(): void {
    this.socket.destroy();
  }

  #take(head: boolean): RawAnswer | undefined {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const [statusLine = '', ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyless = head || status < 200 || status === 204 || status === 304;
    const length = bodyless ? 0 : Number(headers['content-length'] ?? 0);
    if (this.#buffer.byteLength < end + 4 + length) return undefined;
    const body = this.#buffer.subarray(end + 4, end + 4 + length);
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    return { status, headers, body };
  }
}
