// Unique names for the values and nodes a graph transform adds, derived from
// existing ones in the order asked: `base`, then `base_1`, `base_2`… The
// same graph asked in the same order gets the same names, which keeps a
// transform's output byte-identical from run to run (to-fp16.ts, to-int8.ts).

export class FreshNames {
  #taken: Set<string>;
  constructor(existing: Iterable<string>) {
    this.#taken = new Set(existing);
  }
  take(base: string): string {
    let name = base;
    for (let i = 1; this.#taken.has(name); i++) name = `${base}_${i}`;
    this.#taken.add(name);
    return name;
  }
}
