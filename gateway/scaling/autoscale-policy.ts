// The autoscaler's decision for one model: a pure function of its settings,
// the count it is at, and a window of observations. Ray Serve's
// target_ongoing_requests (or a queue-delay target), made stable:
//
// - a wish must hold at every observation over a delay before it is acted
//   on (longer for down than up), so a spike shorter than the up delay and
//   a sawtooth faster than the down delay move nothing;
// - up goes to the least any of those observations wanted, down to the most,
//   each by at most a step;
// - load is counted per ready replica, and no scale-down happens while
//   replicas are missing (dead, restarting, starting): a fleet short of
//   replicas must not read as a quiet one;
// - after an action, a cooldown, and only observations made after it count.

export type AutoscaleSettings = {
  /** Ongoing requests (in flight and queued in the gateway) per ready replica to aim for; undefined with a queue-delay target. */
  targetOngoingRequests: number | undefined;
  /** Or: the queue delay (ms) to stay under; scale up above it, down below half of it. */
  targetQueueDelayMs: number | undefined;
  minReplicas: number;
  maxReplicas: number;
  upscaleDelayMs: number;
  downscaleDelayMs: number;
  maxStepUp: number;
  maxStepDown: number;
  cooldownMs: number;
};

export type AutoscaleObservation = {
  atMs: number;
  /** Replicas ready for the model when observed. */
  readyReplicas: number;
  /** Requests of the model in flight or queued in the gateway. */
  ongoingRequests: number;
  /** Mean queue delay (ms) of the requests that left a queue since the observation before; 0 unbatched. */
  queueDelayMs: number;
};

export type AutoscaleState = { desiredReplicas: number; lastActionAtMs: number | undefined };

export type AutoscaleDecision = { desiredReplicas: number; action: 'up' | 'down' | 'hold'; reason: string };

/** The count the model should be at now; `settings` are assumed valid (min ≤ max, one target, positive steps). */
export function decideReplicas(settings: AutoscaleSettings, state: AutoscaleState, window: readonly AutoscaleObservation[], nowMs: number): AutoscaleDecision {
  const { minReplicas, maxReplicas } = settings;
  const current = state.desiredReplicas;
  if (current < minReplicas) return { desiredReplicas: minReplicas, action: 'up', reason: `bounds: ${current} is below minReplicas ${minReplicas}` };
  if (current > maxReplicas) return { desiredReplicas: maxReplicas, action: 'down', reason: `bounds: ${current} is above maxReplicas ${maxReplicas}` };
  const hold = (reason: string): AutoscaleDecision => ({ desiredReplicas: current, action: 'hold', reason });
  if (state.lastActionAtMs !== undefined && nowMs - state.lastActionAtMs < settings.cooldownMs) {
    return hold(`cooldown: ${Math.round(nowMs - state.lastActionAtMs)} ms since the last action, cooldownMs ${settings.cooldownMs}`);
  }
  // Observations from before the last action describe the fleet as it was.
  const fresh = window.filter((o) => state.lastActionAtMs === undefined || o.atMs > state.lastActionAtMs);
  const latest = fresh.at(-1);
  if (!latest) return hold('no observation yet');
  const wantedNow = wanted(settings, current, latest);

  if (wantedNow > current) {
    const span = spanOf(fresh, nowMs, settings.upscaleDelayMs);
    if (!span) return hold(`wants ${wantedNow}: not observed for upscaleDelayMs ${settings.upscaleDelayMs} yet`);
    const least = Math.min(...span.map((o) => wanted(settings, current, o)));
    if (least <= current) return hold(`wants ${wantedNow} now, but not throughout upscaleDelayMs ${settings.upscaleDelayMs}`);
    const to = Math.min(least, current + settings.maxStepUp, maxReplicas);
    return { desiredReplicas: to, action: 'up', reason: `${describe(settings, latest)} wanted ≥ ${least} for upscaleDelayMs ${settings.upscaleDelayMs}: ${current} → ${to}` };
  }
  if (wantedNow < current) {
    const span = spanOf(fresh, nowMs, settings.downscaleDelayMs);
    if (!span) return hold(`wants ${wantedNow}: not observed for downscaleDelayMs ${settings.downscaleDelayMs} yet`);
    const missing = span.find((o) => o.readyReplicas < current);
    if (missing) return hold(`replicas missing: ${missing.readyReplicas} of ${current} ready, so low load may be a short fleet`);
    const most = Math.max(...span.map((o) => wanted(settings, current, o)));
    if (most >= current) return hold(`wants ${wantedNow} now, but not throughout downscaleDelayMs ${settings.downscaleDelayMs}`);
    const to = Math.max(most, current - settings.maxStepDown, minReplicas);
    return { desiredReplicas: to, action: 'down', reason: `${describe(settings, latest)} wanted ≤ ${most} for downscaleDelayMs ${settings.downscaleDelayMs}: ${current} → ${to}` };
  }
  return hold(`${describe(settings, latest)}: ${current} is right`);
}

/** The count one observation asks for, within bounds. */
function wanted(settings: AutoscaleSettings, current: number, o: AutoscaleObservation): number {
  let count: number;
  if (settings.targetOngoingRequests !== undefined) count = Math.ceil(o.ongoingRequests / settings.targetOngoingRequests);
  else {
    const target = settings.targetQueueDelayMs ?? Infinity;
    count = o.queueDelayMs > target ? current + 1 : o.queueDelayMs < target / 2 ? current - 1 : current;
  }
  return Math.min(settings.maxReplicas, Math.max(settings.minReplicas, count));
}

/** The observations of the last `delayMs`, when the window reaches back that far (else undefined). */
function spanOf(window: readonly AutoscaleObservation[], nowMs: number, delayMs: number): AutoscaleObservation[] | undefined {
  const since = nowMs - delayMs;
  if (window[0]!.atMs > since) return undefined;
  // The last observation at or before the start stands for the span's start.
  let first = 0;
  for (let i = 0; i < window.length; i++) if (window[i]!.atMs <= since) first = i;
  return window.slice(first);
}

function describe(settings: AutoscaleSettings, o: AutoscaleObservation): string {
  return settings.targetOngoingRequests !== undefined
    ? `ongoing ${o.ongoingRequests} over ${o.readyReplicas} ready (target ${settings.targetOngoingRequests} each)`
    : `queue delay ${o.queueDelayMs.toFixed(1)} ms (target ${settings.targetQueueDelayMs} ms)`;
}
