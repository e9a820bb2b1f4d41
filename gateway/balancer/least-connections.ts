// Least-connections balancing: pick the candidate with the fewest outstanding
// requests; among equals, pick uniformly at random so that no replica is
// favoured by its position in the list (a fixed tie-break would pile every
// request of an idle fleet onto the first replica).
//
// Pure: the caller passes the ready candidates and a random source in [0, 1).

export type Loaded = { readonly outstanding: number };

/**
 * Returns the least-loaded candidate, undefined when there is none.
 * Ties are broken by reservoir sampling in one pass: the k-th tie found
 * replaces the current choice with probability 1/k, which gives each of the
 * tied candidates probability 1/(number of ties).
 */
export function pickLeastConnections<T extends Loaded>(
  candidates: readonly T[],
  random: () => number,
): T | undefined {
  let best: T | undefined;
  let ties = 0;
  for (const candidate of candidates) {
    if (best === undefined || candidate.outstanding < best.outstanding) {
      best = candidate;
      ties = 1;
    } else if (candidate.outstanding === best.outstanding) {
      ties++;
      if (random() * ties < 1) best = candidate;
    }
  }
  return best;
}
