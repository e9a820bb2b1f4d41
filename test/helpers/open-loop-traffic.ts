// Open-loop test traffic: one request every intervalMs whatever the answers
// do, so a slow or failing version cannot slow the offered rate down. Stopped,
// and its requests in flight awaited, at the test's teardown.

export type TrafficTeardown = { teardown(fn: () => unknown): void };

/**
 * Calls `send(i)` for i = 0, 1, 2… every intervalMs; `send` records its own answer and must not reject. `stop`
 * ends the traffic early and resolves once its last answers are in.
 */
export function openLoopTraffic(t: TrafficTeardown, intervalMs: number, send: (index: number) => Promise<void>): { sent: () => number; stop: () => Promise<void> } {
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const ticker = setInterval(() => {
    const request = send(sent++);
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }, intervalMs);
  const stop = async () => {
    clearInterval(ticker);
    await Promise.all(inFlight);
  };
  t.teardown(stop);
  return { sent: () => sent, stop };
}
