// Where the gateway's time goes: attributes the samples of a V8 CPU profile
// (`node --cpu-prof`) to the stages of the infer path. A sample belongs to the
// innermost project frame on its stack (a socket write made by the mux
// writer is the gateway→worker channel's, not Node's), and to Node's HTTP
// machinery only when no project frame is on it. Idle samples are left out.
//
// The profiler samples wall-clock time on the JS thread: a sample inside a
// write syscall also counts time the thread spent descheduled there (on a
// busy 2-core machine a write that wakes the peer process often costs that),
// so shares are of the thread's busy time, not pure CPU.

export type CpuProfile = {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
};

export type StageShare = { stage: string; busyMs: number; share: number };

/** First match wins; project stages are tried on the whole stack before Node's own. */
const PROJECT_STAGES: ReadonlyArray<[RegExp, string]> = [
  [/common\/mux(-writer)?\.ts|upstream\/mux-client\.ts|upstream\/worker-client\.ts/, 'gateway→worker channel (framing, socket writes)'],
  // json-tensor.ts serves both directions: its frames are passed over, so its caller decides.
  [/kserve\/decode-request\.ts|kserve\/binary-data\.ts/, 'JSON request decode and validation'],
  [/kserve\/encode-response\.ts/, 'JSON response encode'],
  [/gateway\/batching\//, 'batching (queue, policy, concat, split)'],
  [/gateway\/cache\//, 'result cache'],
  [/common\/wire\.ts/, 'binary frames'],
  [/gateway\/(upstream|replicas|resilience|health|balancer)\/|node_modules\/opossum/, 'dispatch (balancer, breaker, retries)'],
  [/gateway\/http\//, 'HTTP handlers and replies (incl. response socket writes)'],
];
const NODE_STAGE: [RegExp, string] = [/node:_http_|node:net|stream_base|node:internal\/streams|wasm:/, 'Node HTTP server (parsing, reads)'];

/**
 * Busy time by stage. Samples before the first one inside `startAt` (by
 * default the infer handler: the first request) are left out, so that
 * start-up (compiling, spawning workers) does not count as serving.
 */
export function stageShares(profile: CpuProfile, startAt: RegExp = /gateway\/http\/handlers\.ts/): { busyMs: number; stages: StageShare[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const first = profile.samples.findIndex((id) => stageOf(id, [[startAt, 'start']], byId, parent) !== undefined);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (first >= 0 && i >= first) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });

  const totals = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const fn = byId.get(id)!.callFrame.functionName;
    if (fn === '(idle)') continue;
    busyUs += us;
    const stage = fn === '(garbage collector)' ? 'garbage collection' : (stageOf(id, PROJECT_STAGES, byId, parent) ?? stageOf(id, [NODE_STAGE], byId, parent) ?? 'other (event loop, microtasks, startup)');
    totals.set(stage, (totals.get(stage) ?? 0) + us);
  }
  const stages = [...totals]
    .map(([stage, us]) => ({ stage, busyMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
    .sort((a, b) => b.busyMs - a.busyMs);
  return { busyMs: busyUs / 1000, stages };
}

function stageOf(
  id: number,
  rules: ReadonlyArray<[RegExp, string]>,
  byId: Map<number, CpuProfile['nodes'][number]>,
  parent: Map<number, number>,
): string | undefined {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { url, lineNumber } = byId.get(at)!.callFrame;
    const where = `${url}:${lineNumber}:`;
    for (const [pattern, stage] of rules) if (pattern.test(where)) return stage;
  }
  return undefined;
}
