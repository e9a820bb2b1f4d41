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
// Bodies are found by their CRC-32 and confirmed by comparing every byte
// (and the model, version and binary header length) with what the slot
// holds: hashing a 10 KB body with SHA-256 was the largest single cost of a
// hit (13% of the gateway's time in a profile); a CRC-32 and a byte
// comparison (memcmp) cost about a third of it. A CRC collision can
// therefore never answer the wrong request: two bodies that share a CRC
// share the slot, the later one replacing the earlier, which then takes the
// full path. The slot key is the CRC as a number, not a string: a key
// string built per request (number conversions, a concatenation, then its
// hash) showed in the hit path's profile; a small integer costs none of it.
//
// A body is stored only when it comes a second time: the first time only its
// fingerprint is noted (a doorkeeper, as in TinyLFU). Traffic that never
// repeats — every request a miss — would otherwise copy every body into the
// index only to evict it again, an allocation of a whole body per miss and a
// churn of off-heap memory that makes V8 collect more.
//
// Bounded by entries and by bytes, least recently used out first; per
// gateway process. The bytes are what an entry keeps alive — its body copy,
// its key, id and output-name strings by length, plus the objects, Buffer
// and Map slot around them (measured: memory-costs.ts) — and the
// doorkeeper's fingerprints (bounded by entries too).

import { crc32 } from 'node:zlib';
import { DOORKEEPER_SLOT_BYTES, RAW_BODY_ENTRY_OVERHEAD_BYTES, textListBytes } from './memory-costs.ts';

export type RawBodyEntry = {
  key: string;
  id: string | undefined;
  binaryOutputs: string[] | undefined;
  /** The outputs the request asked for, in its order. */
  outputs?: string[] | undefined;
};

/**
 * What decides how a body is parsed and which file answers it: a slot answers only a body sent in the same context
 * (a reloaded model.onnx has another fingerprint, so its bodies never find the old file's answers).
 */
export type BodyContext = { model: string; version: string; fingerprint: string; binaryHeaderLength: number | undefined };

export type RawBodyIndexLimits = {
  maxEntries: number;
  /** Bytes held at most (entries and doorkeeper, as counted above); a body over 1/64 of this is not indexed (it takes the full path). */
  maxBytes: number;
};

type Slot = { context: BodyContext; body: Buffer; entry: RawBodyEntry; bytes: number };

export class RawBodyIndex {
  readonly #limits: RawBodyIndexLimits;
  readonly #slots = new Map<number, Slot>();
  /** Fingerprints of bodies seen once and not stored, oldest first. */
  readonly #seenOnce = new Set<number>();
  /** Bytes of the stored entries (the doorkeeper's are counted on read). */
  #bytes = 0;

  constructor(limits: RawBodyIndexLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Bytes held: the entries (bodies, strings, objects, Map slots) and the doorkeeper's fingerprints. */
  get bytes(): number {
    return this.#bytes + this.#seenOnce.size * DOORKEEPER_SLOT_BYTES;
  }

  /** Larger bodies are never indexed: the caller need not fingerprint them. */
  get maxBodyBytes(): number {
    return this.#limits.maxBytes / 64;
  }

  /** The slot of a raw request body: its CRC-32 (as a signed 32-bit integer, which V8 keeps unboxed). */
  static fingerprint(body: Uint8Array): number {
    return crc32(body) | 0;
  }

  /** The entry of exactly this body (byte for byte, in the same context) in its slot, if it is the one held there. */
  get(context: BodyContext, fingerprint: number, body: Uint8Array): RawBodyEntry | undefined {
    const slot = this.#slots.get(fingerprint);
    if (!slot || !sameContext(slot.context, context) || !slot.body.equals(body)) return undefined;
    // Re-inserting keeps the Map's insertion order least recently used first.
    this.#slots.delete(fingerprint);
    this.#slots.set(fingerprint, slot);
    return slot.entry;
  }

  /** Notes a body with the key it decoded to: stored the second time its fingerprint comes (see the doorkeeper above). */
  set(context: BodyContext, fingerprint: number, body: Uint8Array, entry: RawBodyEntry): void {
    const { maxEntries, maxBytes } = this.#limits;
    if (maxEntries <= 0 || body.byteLength > maxBytes / 64) return;
    if (!this.#slots.has(fingerprint) && !this.#seenOnce.delete(fingerprint)) {
      this.#seenOnce.add(fingerprint);
      if (this.#seenOnce.size > maxEntries) this.#seenOnce.delete(this.#seenOnce.values().next().value!);
      this.#trim();
      return;
    }
    this.#remove(fingerprint);
    // A copy in a buffer of its own: the request's buffer may be a slice of a larger socket read, and a small
    // Buffer.from() copy a slice of a shared 8 KB pool, either of which would stay alive with the entry.
    const copy = Buffer.allocUnsafeSlow(body.byteLength);
    copy.set(body);
    const bytes = entryBytes(copy, entry);
    this.#slots.set(fingerprint, { context, body: copy, entry, bytes });
    this.#bytes += bytes;
    this.#trim();
  }

  /** Back within the limits: least recently used entries out first, then the oldest fingerprints. */
  #trim(): void {
    const { maxEntries, maxBytes } = this.#limits;
    while (this.#slots.size > 0 && (this.#slots.size > maxEntries || this.bytes > maxBytes)) this.#remove(this.#slots.keys().next().value!);
    while (this.#seenOnce.size > 0 && this.bytes > maxBytes) this.#seenOnce.delete(this.#seenOnce.values().next().value!);
  }

  #remove(fingerprint: number): void {
    const slot = this.#slots.get(fingerprint);
    if (!slot) return;
    this.#slots.delete(fingerprint);
    this.#bytes -= slot.bytes;
  }
}

function sameContext(a: BodyContext, b: BodyContext): boolean {
  return a.model === b.model && a.version === b.version && a.fingerprint === b.fingerprint && a.binaryHeaderLength === b.binaryHeaderLength;
}

/** What an entry keeps alive, as counted (memory-costs.ts): the body copy, its strings by length, and the rest measured. */
function entryBytes(body: Uint8Array, entry: RawBodyEntry): number {
  const strings = entry.key.length + (entry.id?.length ?? 0) + textListBytes(entry.binaryOutputs) + textListBytes(entry.outputs);
  return body.byteLength + strings + RAW_BODY_ENTRY_OVERHEAD_BYTES;
}
