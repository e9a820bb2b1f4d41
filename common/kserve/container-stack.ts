// The stack of open JSON containers as one bit per level (set: an object,
// clear: an array), for the syntax checker (json-syntax.ts): a hostile
// "[[[[…" of 64 MB costs 8 MB of bits rather than a call stack or an array
// of objects.

export class ContainerStack {
  #bits = new Uint8Array(64);
  #depth = 0;

  /** Open containers; 0 at the root. */
  get depth(): number {
    return this.#depth;
  }

  push(isObject: boolean): void {
    const level = ++this.#depth;
    const index = level >>> 3;
    if (index >= this.#bits.length) {
      const grown = new Uint8Array(this.#bits.length * 2);
      grown.set(this.#bits);
      this.#bits = grown;
    }
    if (isObject) this.#bits[index]! |= 1 << (level & 7);
    else this.#bits[index]! &= ~(1 << (level & 7));
  }

  pop(): void {
    this.#depth--;
  }

  /** Whether the innermost open container is an object (false at the root). */
  get inObject(): boolean {
    const level = this.#depth;
    return level > 0 && (this.#bits[level >>> 3]! & (1 << (level & 7))) !== 0;
  }
}
