// The nesting rule of a JSON input's `data`, in one place for both decoders:
// `data` is either flat (exactly Π shape leaves, no nested array) or nested
// exactly as the shape (nesting depth = rank, every array at depth d holds
// shape[d] items, leaves only at depth rank). Ragged rows, partial nesting
// and leaves mixed with arrays are refused even when the leaf count matches,
// since the client's intended layout is then a guess.
//
//   shape [2,3]   [1,2,3,4,5,6]        flat: ok
//                 [[1,2,3],[4,5,6]]    nested exactly: ok
//                 [[1,2],[3,4,5,6]]    data[0] holds 2 items where dim 1 is 3
//                 [1,2,3,[4,5,6]]      data[3] is an array but data[0] is not
//
// DataNesting is fed events in document order: open() at '[', leaves(n) for
// n leaf items, close() at ']'. decodeInferRequest feeds it from parsed JS
// values (jsonDataLeaves below), the sliced decoder from bytes (data-span.ts);
// events arrive in the same order either way, so both find the same first
// fault and say the same thing. Arrays are counted at their close, after
// their items, because a byte scanner only knows an array's length then.

import { elementCount } from '../datatypes.ts';
import { InfergateError } from '../errors.ts';
import { describe } from './describe.ts';

/** Deepest array nesting accepted in `data` (far above any tensor rank served in practice). */
export const MAX_DATA_DEPTH = 32;

type Mode = 'undecided' | 'flat' | 'nested';

export class DataNesting {
  readonly #name: string;
  readonly #shape: readonly number[];
  /** Depth of the innermost open array (0: `data` itself); -1 before `data` opens. */
  #depth = -1;
  /** Decided by the first item of `data`: a leaf makes it flat, an array nested. */
  #mode: Mode = 'undecided';
  /** Items seen so far in the open array at each depth. */
  readonly #items = new Array<number>(MAX_DATA_DEPTH).fill(0);
  #leaves = 0;

  constructor(name: string, shape: readonly number[]) {
    this.#name = name;
    this.#shape = shape;
  }

  open(): void {
    const d = this.#depth;
    if (d >= 0) {
      if (d + 1 >= MAX_DATA_DEPTH) {
        throw new InfergateError('GW_ERR_INVALID_REQUEST', `input "${this.#name}": "data" is nested deeper than ${MAX_DATA_DEPTH} levels`);
      }
      if (this.#mode === 'undecided') this.#mode = 'nested';
      else if (this.#mode === 'flat') throw this.#unlike(`${this.#itemPath(d)} is an array but data[0] is not`);
      if (d + 1 >= this.#shape.length) {
        const dims = this.#shape.length === 1 ? '1 dim' : `${this.#shape.length} dims`;
        throw this.#unlike(`${this.#itemPath(d)} is an array but the shape has only ${dims}`);
      }
      this.#items[d]!++;
    }
    this.#depth = d + 1;
    this.#items[d + 1] = 0;
  }

  /** `count` consecutive leaf items in the open array. */
  leaves(count: number): void {
    const d = this.#depth;
    if (this.#mode === 'undecided') this.#mode = 'flat';
    else if (this.#mode === 'nested' && d !== this.#shape.length - 1) {
      throw this.#unlike(`${this.#itemPath(d)} is not an array where dim ${d + 1} (${items(this.#shape[d + 1]!)}) belongs`);
    }
    this.#items[d]! += count;
    this.#leaves += count;
  }

  close(): void {
    const d = this.#depth;
    if (this.#mode === 'nested' && this.#items[d] !== this.#shape[d]) {
      throw this.#unlike(`${this.#arrayPath(d)} holds ${items(this.#items[d]!)} where dim ${d} is ${this.#shape[d]}`);
    }
    this.#depth = d - 1;
  }

  /** After `data` closed: the leaf count, which flat data must match with Π shape. */
  finish(): number {
    if (this.#mode !== 'nested') checkElementCount(this.#name, this.#shape, this.#leaves);
    return this.#leaves;
  }

  /** "data[1][0]": the open array at depth d (each open array is the last item counted in its parent). */
  #arrayPath(d: number): string {
    let path = 'data';
    for (let k = 0; k < d; k++) path += `[${this.#items[k]! - 1}]`;
    return path;
  }

  /** The next item of the open array at depth d. */
  #itemPath(d: number): string {
    return `${this.#arrayPath(d)}[${this.#items[d]}]`;
  }

  #unlike(where: string): InfergateError {
    const shape = `[${this.#shape.join(',')}]`;
    return new InfergateError('GW_ERR_ELEMENT_COUNT', `input "${this.#name}": "data" is nested unlike shape ${shape}: ${where} (send data flat, or nested exactly as the shape)`);
  }
}

const items = (n: number): string => (n === 1 ? '1 item' : `${n} items`);

/** Throws GW_ERR_ELEMENT_COUNT when `count` elements do not fill `shape`. */
export function checkElementCount(name: string, shape: readonly number[], count: number): void {
  const expected = elementCount(shape);
  if (count !== expected) {
    throw new InfergateError('GW_ERR_ELEMENT_COUNT', `input "${name}" has ${count} data elements but shape [${shape.join(',')}] holds ${expected}`);
  }
}

/** GW_ERR_INVALID_REQUEST for `data` that is not an array at all. */
export function dataNotAnArray(name: string, described: string): InfergateError {
  return new InfergateError('GW_ERR_INVALID_REQUEST', `input "${name}": "data" must be an array, not ${described}`);
}

/**
 * The leaves of parsed `data` in row-major order, checked against `shape`:
 * `data` itself when it is flat (no copy), else one new array. An iterative
 * depth-first walk (`arrays`/`positions` are the explicit stack), so a
 * hostile million-level body cannot overflow the call stack.
 */
export function jsonDataLeaves(name: string, shape: readonly number[], data: unknown): readonly unknown[] {
  if (!Array.isArray(data)) throw dataNotAnArray(name, describe(data));
  const nesting = new DataNesting(name, shape);
  nesting.open();
  let flat = 0;
  while (flat < data.length && !Array.isArray(data[flat])) flat++;
  if (flat === data.length) {
    nesting.leaves(data.length);
    nesting.close();
    nesting.finish();
    return data;
  }
  const leaves: unknown[] = [];
  const arrays: (readonly unknown[])[] = [data];
  const positions: number[] = [0];
  let depth = 0;
  while (depth >= 0) {
    const array = arrays[depth]!;
    const from = positions[depth]!;
    let i = from;
    while (i < array.length && !Array.isArray(array[i])) leaves.push(array[i++]);
    if (i > from) nesting.leaves(i - from);
    if (i === array.length) {
      nesting.close();
      depth--;
      continue;
    }
    positions[depth] = i + 1;
    nesting.open();
    arrays[++depth] = array[i] as readonly unknown[];
    positions[depth] = 0;
  }
  nesting.finish();
  return leaves;
}
