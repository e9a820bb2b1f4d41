// Panic mode (Envoy's name): the replicas to balance over among the ready
// ones. Normally the usable ones (health checks pass, not ejected, breaker
// admits); when fewer than panicThresholdPercent of the ready replicas are
// usable, every ready one, because spreading over a fleet that looks sick
// beats failing every request on the few that look well. Pure.

/** The replicas to balance over among the ready ones, and whether that is panic mode. */
export function routableReplicas<T>(
  ready: readonly T[],
  isUsable: (replica: T) => boolean,
  panicThresholdPercent: number,
): { replicas: readonly T[]; panic: boolean } {
  if (ready.length === 0) return { replicas: ready, panic: false };
  const usable = ready.filter(isUsable);
  if (usable.length === ready.length) return { replicas: ready, panic: false };
  if (usable.length === 0 || (usable.length * 100) / ready.length < panicThresholdPercent) return { replicas: ready, panic: true };
  return { replicas: usable, panic: false };
}
