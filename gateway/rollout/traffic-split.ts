// Which version a request that names none goes to during a canary stage.
// Pure. A client that sends a session key lands in one of 10,000 buckets by
// its hash, and the candidate takes the lowest `percent` of them: the same
// session stays on one version, and as the percentage grows the sessions
// already on the candidate stay there. Without a key, each request draws.

const BUCKETS = 10_000;

export function splitsToCandidate(percent: number, sessionKey: string | undefined, random: () => number): boolean {
  if (percent <= 0) return false;
  if (sessionKey === undefined) return random() * 100 < percent;
  return (fnv1a(sessionKey) % BUCKETS) < (percent / 100) * BUCKETS;
}

/** FNV-1a over the key's UTF-16 code units: fast, and spreads short keys such as "user-17" well. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
