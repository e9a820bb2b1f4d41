// Least-connections balancing: pick the candidate with the fewest outstanding
// requests; among equals, pick uniformly at random so that no replica is
// favoured by its position in the list (a fixed tie-break would pile every
// request of an idle fleet onto the first replica).
//
// Slow start: with a weight per candidate (0 < w ≤ 1), the load compared is
// (outstanding + 1) / weight, the load it would have after taking this
// request, scaled up for a replica that should get only a share (Envoy's
// weighted least-request). With every weight 1 the order is the same as plain
// outstanding counts.
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
  weightOf?: (candidate: T) => number,
): T | undefined {
  let best: T | undefined;
  let bestLoad = Infinity;
  let ties = 0;
  for (const candidate of candidates) {
    const load = weightOf ? (candidate.outstanding + 1) / weightOf(candidate) : candidate.outstanding;
    if (best === undefined || load < bestLoad) {
      best = candidate;
      bestLoad = load;
      ties = 1;
    } else if (load === bestLoad) {
      ties++;
      if (random() * ties < 1) best = candidate;
    }
  }
  return best;
}
