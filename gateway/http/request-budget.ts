// The bytes of requests the gateway holds at once (limits.maxBufferedRequestBytes).
//
// Counting requests (server.maxInFlightRequests) bounds their number, not
// their memory: 8192 requests of 64 MiB would be half a terabyte. So each
// request also reserves bytes here before its body is read: its body, and
// what decoding it may produce. JSON text of "0," is two bytes per element
// and an FP64 or INT64 element eight, so decoded tensors can take up to four
// times the body: a request reserves EXPANSION × its body bytes. A request
// that would overdraw the budget is refused at once (503 + Retry-After), its
// body unread, and the reservation is returned when its answer is ready. A
// request whose declared body could not fit even in an empty budget is
// refused as too large (413 GW_ERR_BODY_TOO_LARGE), not as overload: a retry
// cannot succeed.
// Every queue behind the front (the batchers' queues, single-flight, the
// replica waiters) holds only admitted requests, so this bounds them too.

import { InfergateError } from '../../common/errors.ts';

/** Reserved per body byte: the body and up to 4× as many bytes of decoded tensors. */
export const EXPANSION = 5;

export class RequestBudget {
  readonly #maxBytes: number;
  #inUseBytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get inUseBytes(): number {
    return this.#inUseBytes;
  }

  /** A reservation for a body of `bodyBytes` (grown later for a body of unknown length); throws GW_ERR_OVERLOADED, or GW_ERR_BODY_TOO_LARGE beyond the whole budget. */
  reserve(bodyBytes: number): Reservation {
    if (bodyBytes * EXPANSION > this.#maxBytes) {
      throw new InfergateError('GW_ERR_BODY_TOO_LARGE', `${bodyBytes} bytes declared need ${Math.ceil((bodyBytes * EXPANSION) / 2 ** 20)} MiB (× ${EXPANSION}), more than the whole ${Math.round(this.#maxBytes / 2 ** 20)} MiB of limits.maxBufferedRequestBytes`);
    }
    const reservation = new Reservation((bytes) => this.#take(bytes), (bytes) => (this.#inUseBytes -= bytes));
    reservation.grow(bodyBytes);
    return reservation;
  }

  #take(bytes: number): void {
    if (this.#inUseBytes + bytes > this.#maxBytes && bytes > 0) {
      const error = new InfergateError(
        'GW_ERR_OVERLOADED',
        `requests in flight hold ${Math.round(this.#inUseBytes / 2 ** 20)} MiB; this one needs ${Math.ceil(bytes / 2 ** 20)} MiB more than the ${Math.round(this.#maxBytes / 2 ** 20)} MiB of limits.maxBufferedRequestBytes`,
      );
      error.retryAfterSeconds = 1;
      throw error;
    }
    this.#inUseBytes += bytes;
  }
}

/** One request's share of the budget. `release` is idempotent. */
export class Reservation {
  readonly #take: (bytes: number) => void;
  readonly #give: (bytes: number) => void;
  #bodyBytes = 0;
  #released = false;

  constructor(take: (bytes: number) => void, give: (bytes: number) => void) {
    this.#take = take;
    this.#give = give;
  }

  /** Covers a body of at least `bodyBytes` (a streamed body grows as it arrives); throws GW_ERR_OVERLOADED. */
  grow(bodyBytes: number): void {
    if (this.#released || bodyBytes <= this.#bodyBytes) return;
    this.#take((bodyBytes - this.#bodyBytes) * EXPANSION);
    this.#bodyBytes = bodyBytes;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#give(this.#bodyBytes * EXPANSION);
  }
}
