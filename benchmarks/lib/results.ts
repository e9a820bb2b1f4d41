// The data every part of the harness passes around: what load was applied,
// what was recorded, what a scenario produced. Load generators fill a
// Recorder; the Recorder's summary is a RunSummary; scenarios collect
// RunRecords into a ScenarioReport; reports render that (and only that), so a
// results.json can be re-rendered later without re-running anything.

import type { ChartSpec, TimelineEvent, TimelineSecond } from '../../common/charts/chart-spec.ts';

// The chart types live with the renderer in common/charts; the harness names them from here too.
export type { BarChartSpec, ChartSpec, LineChartSpec, Series, TimelineChartSpec, TimelineEvent, TimelineSecond } from '../../common/charts/chart-spec.ts';

/** Closed loop: each connection sends its next request when the previous answer arrives (autocannon). */
export type ClosedLoad = {
  mode: 'closed';
  connections: number;
  pipelining: number;
  durationS: number;
  /** Stop after this many requests instead of after durationS. */
  amount?: number;
};

/** Open loop: requests are due at fixed (or Poisson) times whatever the answers do (wrk2). */
export type OpenLoad = {
  mode: 'open';
  ratePerS: number;
  arrivals: 'constant' | 'poisson';
  /** Keep-alive connections the requests are spread over (an undici Pool). */
  connections: number;
  durationS: number;
  /** Rate changes during the run (e.g. a burst): from each step's fromS on, its rate; ratePerS holds before the first. */
  schedule?: RateStep[];
};

/** From `fromS` seconds into the run on, requests are due at `ratePerS` (0 pauses). */
export type RateStep = { fromS: number; ratePerS: number };

export type LoadSpec = ClosedLoad | OpenLoad;

export type LatencySummary = {
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
};

/** One second of a run, by completion time. */
export type SecondSample = {
  second: number;
  responses: number;
  errors: number;
  non2xx: number;
  bytes: number;
  p50Ms: number;
  p99Ms: number;
};

export type RunSummary = {
  /** Wall time from the first send to the last answer (or the drain deadline). */
  elapsedS: number;
  /** Answers received, any status. */
  responses: number;
  ok: number;
  non2xx: number;
  /** Requests that got no answer: timeouts, resets, refused connections. */
  errors: number;
  responsesPerS: number;
  /** Response bytes: whole responses in closed loop (autocannon counts headers too), bodies in open loop. */
  bytesRead: number;
  bytesPerS: number;
  /** Latency of every answered request (open loop: from its intended send time). */
  latency: LatencySummary;
  statusCodes: Record<string, number>;
  errorKinds: Record<string, number>;
  /** (non-2xx + errors) / (responses + errors). */
  errorRate: number;
  /** Open loop only: how late the generator sent requests behind schedule (its own ceiling). */
  sendLagP99Ms?: number;
  timeline: SecondSample[];
  /** The HDR histogram (µs) as hdr-histogram-js compressed base64, to re-aggregate later. */
  histogram: string;
};

/** After a SIGTERM to the gateway: what became of the requests in flight then and of those due later. */
export type DrainCounts = {
  atS: number;
  inFlight: { answered: number; failed: number };
  after: { answered: number; refused: number; shed: number; failed: number };
};

export type EventTimeline = {
  seconds: TimelineSecond[];
  events: TimelineEvent[];
  drain?: DrainCounts;
  /** Scaling runs: per second, the offered rate and the model's replicas (desired, ready) sampled then. */
  replicas?: ReplicaSecond[];
  /** Rollout runs: per second, the 2xx answers by the model version that gave them, and the rollout as sampled then. */
  versions?: VersionSecond[];
};

export type ReplicaSecond = { second: number; offeredPerS: number; desired: number; ready: number };

/** `answers`: 2xx answers of the requests due in the second, by `model_version`; `rollout`: the last sample's candidate, state and share (null before any). */
export type VersionSecond = { second: number; offeredPerS: number; answers: Record<string, number>; rollout: { candidate: string; state: string; percent: number } | null };

export type BodyDescription = {
  /** KServe v2 JSON, the worker's binary frame, KServe's binary tensor extension, or a gRPC ModelInferRequest with raw_input_contents (bodies.ts). */
  format: 'json' | 'binary' | 'kserve-binary' | 'grpc-raw';
  rows: number;
  /** 'unique' or the size of the fixed pool of distinct inputs. */
  inputs: 'unique' | number;
  /** Share of requests drawn from a small pool of repeated bodies (the rest unique), when set. */
  hitRatio?: number;
  bytesPerRequest: number;
};

/** CPU used during a run by role ('load generator', 'gateway', 'workers', 'nginx', 'hello'). */
export type RunCpu = {
  seconds: number;
  /** 100 = one core busy for the whole run. */
  percentOfCore: Record<string, number>;
  usPerRequest: Record<string, number>;
  /** CPU the rest of the machine used meanwhile (other processes, steal): a noisy neighbour shows here. */
  otherPercentOfCore?: number;
};

export type RunRecord = {
  /** The system, or the scenario's label for a variant of it. */
  system: string;
  /** The model called, when a scenario names one per system. */
  model?: string;
  replicas: number;
  /** Gateway processes that served the run (the gateway systems; server.processes). */
  processes?: number;
  load: LoadSpec;
  body: BodyDescription;
  summary: RunSummary;
  /** Absent where /proc is not available. */
  cpu?: RunCpu;
  /** Chaos runs: outcomes per second with the events marked. */
  eventTimeline?: EventTimeline;
  /** Set when the run counts as failed (errors beyond the allowance, or it could not run). */
  failure?: string;
  /** Scenarios that repeat their runs interleaved: which round (1-based) this run belongs to. */
  round?: number;
  /** The memory scenario: the gateway's resident memory through the run, and what its cache tier held at the end. */
  memory?: RunMemory;
  /** The processes scenario: how the run's work spread over the workers and the gateway processes. */
  sharing?: RunSharing;
};

export type RunMemory = {
  /** VmRSS when the load started, at its end, and the highest sampled (once a second) in between. */
  rssStartBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  /** The in-process cache tier's own count at the end (GET /admin/cache), when the cache is on. */
  cacheEntries?: number;
  cacheBytes?: number;
  cacheMaxBytes?: number;
};

/** One run's work by worker and by gateway process: differences of GET /metrics counters around the run, its model only (work-sharing.ts). */
export type RunSharing = {
  /** By worker (replica id): rows it ran (infergate_worker_batch_rows_sum; a request is --rows rows) and its runs (infergate_worker_runs_total, outcome ok). */
  workers: Record<string, { rows: number; runs: number }>;
  /** By gateway process ("leader", "front-1", …): requests it answered (infergate_requests_total), and the frames it sent and their rows (infergate_batch_size_rows). */
  processes: Record<string, { requests: number; batches: number; batchRows: number }>;
  /** The workers' rows, highest / lowest (null when one ran none). */
  rowsMaxMin: number | null;
  /** The workers' rows, coefficient of variation: standard deviation / mean (0 = even). */
  rowsCv: number;
  /** Rows per worker run over all workers (1 without batching at 1 row per request). */
  rowsPerRun: number;
};

export type CapacityProbe = {
  ratePerS: number;
  passed: boolean;
  achievedPerS: number;
  p50Ms: number;
  p99Ms: number;
  errorRate: number;
};

export type CapacityRecord = {
  system: string;
  replicas: number;
  sloP99Ms: number;
  maxErrorRate: number;
  /** Highest rate that passed (0 when none did). */
  capacityPerS: number;
  /** [highest passing, lowest failing] rate when the search stopped; null = not found. */
  bracket: [number, number | null];
  reason: string;
  probes: CapacityProbe[];
  failure?: string;
};

export type MachineFacts = {
  hostname: string;
  platform: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
  node: string;
  gitCommit: string | null;
  gitDirty: boolean | null;
};

export type ScenarioReport = {
  scenario: string;
  title: string;
  description: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineFacts;
  /** The options the scenario ran with (after defaults). */
  config: Record<string, unknown>;
  runs: RunRecord[];
  capacities: CapacityRecord[];
  /** Derived one-liners (ratios, capacities), written by the scenario. */
  highlights: string[];
  /** Markdown blocks a scenario adds after its highlights (e.g. per-second tables). */
  sections?: string[];
  /** Things a reader must know: skipped systems, failures. */
  notes: string[];
  charts: ChartSpec[];
  failed: boolean;
};
