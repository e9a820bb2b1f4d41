import t from 'tap';
import { stageShares, type CpuProfile } from '../../benchmarks/lib/profile-stages.ts';

// A tiny call tree: root → handler → (decode | mux flush → native write | node http write) and idle/GC leaves.
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url, lineNumber: 1 }, children });
const PROFILE_NODES: CpuProfile['nodes'] = [
  frame(1, '(root)', '', [2, 3, 4, 9, 10, 11]),
  frame(2, '(idle)', ''),
  frame(3, '(garbage collector)', ''),
  frame(4, '#infer', 'file:///x/gateway/http/handlers.ts', [5, 6]),
  frame(5, 'decodeInferRequest', 'file:///x/common/kserve/decode-request.ts', [12]),
  frame(6, 'flush', 'file:///x/common/mux.ts', [7]),
  frame(7, 'Writable.write', 'node:internal/streams/writable', [8]),
  frame(8, 'writeBuffer', ''),
  frame(9, 'parserOnHeadersComplete', 'node:_http_common'),
  frame(10, 'startup', 'node:internal/modules/esm/loader'),
  frame(11, 'numbersToJson', 'file:///x/common/kserve/json-tensor.ts'),
  frame(12, 'jsonElementsToBytes', 'file:///x/common/kserve/json-tensor.ts'),
];

t.test('samples go to the innermost project stage on their stack; idle and start-up are left out', async (t) => {
  const profile: CpuProfile = {
    nodes: PROFILE_NODES,
    //        start-up (before the first request)  then: handler, decode(json-tensor), mux write, node http, gc, idle, other
    samples: [10, 10, 4, 12, 8, 8, 9, 3, 2, 10],
    timeDeltas: [1000, 1000, 1000, 2000, 3000, 1000, 1000, 500, 9000, 500],
  };
  const { busyMs, stages } = stageShares(profile);
  const by = Object.fromEntries(stages.map((s) => [s.stage, s.busyMs]));
  t.equal(busyMs, 9, 'idle and the samples before the first request are not busy time');
  t.same(by, {
    'gateway→worker channel (framing, socket writes)': 4, // a native write under the mux flush is the channel's
    'JSON request decode and validation': 2, // json-tensor.ts under decode-request.ts
    'HTTP handlers and replies (incl. response socket writes)': 1,
    'Node HTTP server (parsing, reads)': 1,
    'garbage collection': 0.5,
    'other (event loop, microtasks, startup)': 0.5,
  });
  t.same(stages.map((s) => s.stage)[0], 'gateway→worker channel (framing, socket writes)', 'largest first');
  t.ok(Math.abs(stages.reduce((sum, s) => sum + s.share, 0) - 1) < 1e-9, 'shares sum to 1');
});

t.test('a profile with no request in it has no busy time', async (t) => {
  t.same(stageShares({ nodes: PROFILE_NODES, samples: [10, 9], timeDeltas: [5, 5] }), { busyMs: 0, stages: [] });
});
