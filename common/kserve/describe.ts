// How a client's value appears in an error message (one rendering for every
// decoder message, so the sync and sliced decoders word errors alike).

/**
 * A short, safe rendering of a client's value for an error message. A
 * non-finite number can only come from JSON.parse reading a literal too
 * large for a double (1e400), so it says that instead of JSON's "null".
 */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : `a number beyond FP64 range (it reads as ${value})`;
  }
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
