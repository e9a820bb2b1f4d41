// A model's outputs against expected ones, element by element, within an
// absolute tolerance. Pure: both sides are JSON values as a KServe v2 answer
// carries them (flat or nested `data`; NaN and ±Infinity as the strings
// "NaN", "Infinity", "-Infinity"; BOOL as true/false; BYTES as strings).
//
//   {"outputs":[{"name":"probabilities","shape":[1,10],"data":[0.1,…]}]}   (--expected)
//     → per output: elements, max |actual − expected|, mismatches
//     → the first output and index that differ, as the failure's one line

export type ActualOutput = { name: string; shape: readonly number[]; data: readonly unknown[] };
export type ExpectedOutput = { name: string; shape: readonly number[] | null; data: readonly unknown[] };

export type OutputComparison = {
  name: string;
  elements: number;
  /** Over the numeric elements; null when none is numeric (BYTES). */
  maxAbsError: number | null;
  mismatches: number;
};

export type Comparison = { toleranceAbs: number; outputs: OutputComparison[]; failure: string | null };

export const DEFAULT_TOLERANCE_ABS = 1e-4;

/** Reads an expected-outputs document; throws Error with a one-line reason naming what is wrong. */
export function parseExpectedOutputs(document: unknown): ExpectedOutput[] {
  const outputs = (document as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs) || outputs.length === 0) throw new Error('expected outputs: want {"outputs":[{"name","shape","data"},…]} with at least one output');
  return outputs.map((output: unknown, i) => {
    const { name, shape, data } = (output ?? {}) as { name?: unknown; shape?: unknown; data?: unknown };
    if (typeof name !== 'string') throw new Error(`expected outputs: outputs[${i}] has no name`);
    if (shape !== undefined && !(Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0))) {
      throw new Error(`expected outputs: output ${JSON.stringify(name)} has shape ${JSON.stringify(shape)}, not a list of sizes`);
    }
    if (!Array.isArray(data)) throw new Error(`expected outputs: output ${JSON.stringify(name)} has no data array`);
    return { name, shape: shape === undefined ? null : (shape as number[]), data: (data as unknown[]).flat(Infinity) };
  });
}

/** Compares every expected output with the actual one of its name; outputs not expected are not compared. */
export function compareOutputs(actual: readonly ActualOutput[], expected: readonly ExpectedOutput[], toleranceAbs: number): Comparison {
  const outputs: OutputComparison[] = [];
  let failure: string | null = null;
  const fail = (reason: string) => {
    failure ??= reason;
  };
  for (const want of expected) {
    const got = actual.find((a) => a.name === want.name);
    const label = `output ${JSON.stringify(want.name)}`;
    if (!got) {
      fail(`${label} is not among the model's outputs (${actual.map((a) => a.name).join(', ')})`);
      continue;
    }
    if (want.shape && !sameShape(got.shape, want.shape)) {
      fail(`${label} has shape [${got.shape.join(',')}], expected [${want.shape.join(',')}]`);
      continue;
    }
    if (got.data.length !== want.data.length) {
      fail(`${label} has ${got.data.length} elements, expected ${want.data.length}`);
      continue;
    }
    let maxAbsError: number | null = null;
    let mismatches = 0;
    for (let i = 0; i < want.data.length; i++) {
      const error = elementError(got.data[i], want.data[i]);
      if (error !== null) maxAbsError = Math.max(maxAbsError ?? 0, error);
      const differs = error === null ? !sameValue(got.data[i], want.data[i]) : !(error <= toleranceAbs);
      if (!differs) continue;
      mismatches++;
      const detail = error === null ? '' : ` (|error| ${error} > tolerance ${toleranceAbs})`;
      fail(`${label} differs at index ${i} ${coordinates(i, got.shape)}: expected ${JSON.stringify(want.data[i])}, got ${JSON.stringify(got.data[i])}${detail}`);
    }
    outputs.push({ name: want.name, elements: want.data.length, maxAbsError, mismatches });
  }
  return { toleranceAbs, outputs, failure };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * |actual − expected| for two numeric values (numbers, booleans as 0/1, the NaN/Infinity strings): 0 when both
 * are NaN or the same infinity, Infinity when only one is. null when either is not numeric.
 */
export function elementError(actual: unknown, expected: unknown): number | null {
  const a = numeric(actual);
  const e = numeric(expected);
  if (a === null || e === null) return null;
  if (Number.isNaN(a) || Number.isNaN(e)) return Number.isNaN(a) && Number.isNaN(e) ? 0 : Number.POSITIVE_INFINITY;
  if (a === e) return 0;
  return Math.abs(a - e);
}

/** A client value as a number (booleans as 0/1, the NaN/Infinity strings); null when it is not numeric (BYTES). */
export function numeric(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return null;
}

function sameValue(actual: unknown, expected: unknown): boolean {
  return JSON.stringify(actual) === JSON.stringify(expected);
}

/** A flat index as its position in the shape, e.g. 13 in [2,10] → [1,3]. */
function coordinates(index: number, shape: readonly number[]): string {
  const position: number[] = [];
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]!;
    position.unshift(size > 0 ? rest % size : 0);
    rest = size > 0 ? Math.floor(rest / size) : 0;
  }
  return `[${position.join(',')}]`;
}
