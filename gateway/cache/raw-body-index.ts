// A fast path for cache hits: the result-cache key is a hash over *decoded*
// tensors (so flat, nested and binary encodings of one tensor share an
// entry), which means a hit still pays for decoding the whole JSON body —
// on the heavy demo model (512 floats) about half the cost of a hit. A body
// that comes back byte for byte decodes to the same request, so this index
// remembers, per raw body (with the model, the resolved version and the
// binary header length that decide how it is parsed), the cache key it
// decoded to and the parts of the request the answer echoes (its id and
// which outputs go back as binary data). A repeat then goes straight to the
// cache tiers; a miss there (expired, evicted, purged) falls back to the full
// path, so an entry here can never serve an answer the tiers no longer hold.
//
// Bodies are found by a CRC-32 fingerprint and confirmed by comparing every
// byte with a stored copy: hashing a 5 KB body with SHA-256 was the largest
// single cost of a hit (13% of the gateway's time in a profile), a CRC-32
// costs a third of it, and a byte comparison (memcmp) next to nothing. A
// fingerprint collision can therefore never answer the wrong request: two
// bodies that share one simply share the slot, the later one replacing the
// earlier, which then takes the full path.
//
// A body is stored only when it comes a second time: the first time only its
// fingerprint is noted (a doorkeeper, as in TinyLFU). Traffic that never
// repeats — every request a miss — would otherwise copy every body into the
// index only to evict it again, a 10 KB allocation per miss (10 µs on the
// heavy model) and a churn of off-heap memory that makes V8 collect more.
//
// Bounded by entries and by the bytes of stored bodies, least recently used
// out first (the doorkeeper by entries); per gateway process.

import { crc32 } from 'node:zlib';

export type RawBodyEntry = {
  key: string;
  id: string | undefined;
  binaryOutputs: string[] | undefined;
};

export type RawBodyIndexLimits = {
  maxEntries: number;
  /** Bytes of stored bodies at most; a body over 1/64 of this is not indexed (it takes the full path). */
  maxBytes: number;
};

type Slot = { body: Buffer; entry: RawBodyEntry };

/** Counted per entry besides its body: the fingerprint, the key, the objects and the Map's slot. */
const ENTRY_OVERHEAD_BYTES = 256;

export class RawBodyIndex {
  readonly #limits: RawBodyIndexLimits;
  readonly #slots = new Map<string, Slot>();
  /** Fingerprints of bodies seen once and not stored, oldest first. */
  readonly #seenOnce = new Set<string>();
  #bytes = 0;

  constructor(limits: RawBodyIndexLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Bytes held: the stored bodies and a fixed overhead per entry. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The slot of a raw request body: everything that decides how it is parsed, its length and its CRC-32. */
  static fingerprint(model: string, version: string, binaryHeaderLength: number | undefined, body: Uint8Array): string {
    return `${model.length}:${model}:${version.length}:${version}:${binaryHeaderLength ?? '-'}:${body.byteLength}:${crc32(body)}`;
  }

  /** The entry of exactly this body (byte for byte) in its slot, if it is the one held there. */
  get(fingerprint: string, body: Uint8Array): RawBodyEntry | undefined {
    const slot = this.#slots.get(fingerprint);
    if (!slot || !slot.body.equals(body)) return undefined;
    // Re-inserting keeps the Map's insertion order least recently used first.
    this.#slots.delete(fingerprint);
    this.#slots.set(fingerprint, slot);
    return slot.entry;
  }

  /** Notes a body with the key it decoded to: stored the second time its fingerprint comes (see the doorkeeper above). */
  set(fingerprint: string, body: Uint8Array, entry: RawBodyEntry): void {
    const { maxEntries, maxBytes } = this.#limits;
    if (maxEntries <= 0 || body.byteLength > maxBytes / 64) return;
    if (!this.#slots.has(fingerprint) && !this.#seenOnce.delete(fingerprint)) {
      this.#seenOnce.add(fingerprint);
      if (this.#seenOnce.size > maxEntries) this.#seenOnce.delete(this.#seenOnce.values().next().value!);
      return;
    }
    this.#remove(fingerprint);
    // A copy in a buffer of its own: the request's buffer may be a slice of a larger socket read, and a small
    // Buffer.from() copy a slice of a shared 8 KB pool, either of which would stay alive with the entry.
    const copy = Buffer.allocUnsafeSlow(body.byteLength);
    copy.set(body);
    this.#slots.set(fingerprint, { body: copy, entry });
    this.#bytes += entryBytes(copy);
    while (this.#slots.size > maxEntries || this.#bytes > maxBytes) this.#remove(this.#slots.keys().next().value!);
  }

  #remove(fingerprint: string): void {
    const slot = this.#slots.get(fingerprint);
    if (!slot) return;
    this.#slots.delete(fingerprint);
    this.#bytes -= entryBytes(slot.body);
  }
}

function entryBytes(body: Uint8Array): number {
  return body.byteLength + ENTRY_OVERHEAD_BYTES;
}
