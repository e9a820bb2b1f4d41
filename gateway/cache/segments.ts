// The in-process tier's payload store: a segmented log. Payloads are copied
// into a few large buffers (segments) instead of one Uint8Array and
// ArrayBuffer each; the newest segment (the head) takes appends, and the
// oldest is the next one reclaimed.
//
//   order:  oldest ─────────────────────────────▶ head
//           [seg 3] [seg 0] [seg 5] … [seg 2: used │ free]
//
// A segment is a run of records, each [u32 entry id][u32 payload length]
// [payload, padded to 4 bytes], so a reclaim can walk it in order and ask
// the entry table whether each record is still the live copy of its entry.
// This file only moves bytes; which records live, move or go is the tier's
// policy (memory-lru.ts).

import { RECORD_HEADER_BYTES } from './memory-costs.ts';

/** Bytes a payload of `length` bytes takes in a segment, header and padding included. */
export function recordBytes(length: number): number {
  return RECORD_HEADER_BYTES + ((length + 3) & ~3);
}

export class Segments {
  readonly segmentBytes: number;
  #buffers: (Uint8Array | undefined)[] = [];
  /** The same memory as 32-bit words, for the record headers (records start 4-aligned). */
  #words: (Uint32Array | undefined)[] = [];
  #used: number[] = [];
  /** Segment numbers oldest first; the last is the head. */
  #order: number[] = [];
  #spareNumbers: number[] = [];

  constructor(segmentBytes: number) {
    if (segmentBytes % 4 !== 0 || segmentBytes < 64) throw new RangeError(`segmentBytes must be a multiple of 4, ≥ 64 (got ${segmentBytes})`);
    this.segmentBytes = segmentBytes;
  }

  /** Segments allocated. */
  get count(): number {
    return this.#order.length;
  }

  get bytes(): number {
    return this.#order.length * this.segmentBytes;
  }

  /** The segment appended to, or -1 when none is allocated. */
  get head(): number {
    return this.#order.length === 0 ? -1 : this.#order[this.#order.length - 1]!;
  }

  /** The next segment to reclaim (the head itself when it is the only one), or -1. */
  get oldest(): number {
    return this.#order.length === 0 ? -1 : this.#order[0]!;
  }

  /** Bytes left in the head. */
  get room(): number {
    const head = this.head;
    return head < 0 ? 0 : this.segmentBytes - this.#used[head]!;
  }

  used(segment: number): number {
    return this.#used[segment]!;
  }

  /** Allocates a new, empty head. */
  allocate(): void {
    const segment = this.#spareNumbers.pop() ?? this.#buffers.length;
    const buffer = new Uint8Array(this.segmentBytes);
    this.#buffers[segment] = buffer;
    this.#words[segment] = new Uint32Array(buffer.buffer);
    this.#used[segment] = 0;
    this.#order.push(segment);
  }

  /** Appends a record to the head (the caller made room); returns its offset. */
  append(id: number, payload: Uint8Array): number {
    const head = this.head;
    const offset = this.#used[head]!;
    this.#words[head]![offset >> 2] = id;
    this.#words[head]![(offset >> 2) + 1] = payload.byteLength;
    this.#buffers[head]!.set(payload, offset + RECORD_HEADER_BYTES);
    this.#used[head] = offset + recordBytes(payload.byteLength);
    return offset;
  }

  /** Copies a whole record from another segment to the head (the caller made room); returns its new offset. */
  appendRecord(segment: number, offset: number): number {
    return this.append(this.idAt(segment, offset), this.payload(segment, offset, this.lengthAt(segment, offset)));
  }

  idAt(segment: number, offset: number): number {
    return this.#words[segment]![offset >> 2]!;
  }

  lengthAt(segment: number, offset: number): number {
    return this.#words[segment]![(offset >> 2) + 1]!;
  }

  /** A view of a record's payload: valid until the segment is next written (see tier.ts). */
  payload(segment: number, offset: number, length: number): Uint8Array {
    const start = offset + RECORD_HEADER_BYTES;
    return this.#buffers[segment]!.subarray(start, start + length);
  }

  /** Moves a record towards the start of its segment (compaction: `to` ≤ `from`). */
  move(segment: number, from: number, to: number): void {
    if (from !== to) this.#buffers[segment]!.copyWithin(to, from, from + recordBytes(this.lengthAt(segment, from)));
  }

  /** Makes a reclaimed segment the head, holding its first `used` bytes (what compaction kept). */
  reuseAsHead(segment: number, used: number): void {
    this.#order.splice(this.#order.indexOf(segment), 1);
    this.#order.push(segment);
    this.#used[segment] = used;
  }

  /** Frees a segment's buffer. */
  release(segment: number): void {
    this.#order.splice(this.#order.indexOf(segment), 1);
    this.#buffers[segment] = undefined;
    this.#words[segment] = undefined;
    this.#spareNumbers.push(segment);
  }
}
