// What a chart shows, as data: the benchmark reports and the model
// optimization report describe their charts with these, and render-chart.ts
// draws them. No layout and no I/O here.

/** One second of an event timeline: the requests *due* in it (by intended send time), whenever they ended. */
export type TimelineSecond = {
  second: number;
  sent: number;
  ok: number;
  /** Refused on purpose to shed load (429, or 503 with Retry-After): the client may retry. */
  shed: number;
  /** Neither 2xx nor shed: non-2xx answers by error code (else status), no answer by kind (timeout, reset, refused, …). */
  failed: number;
  failures: Record<string, number>;
  /** Latency of the 2xx answers, from the intended send time (null when none). */
  p50Ms: number | null;
  p99Ms: number | null;
};

/** Something done to the system during a run, `atS` seconds after the load started. */
export type TimelineEvent = {
  atS: number;
  kind: string;
  label: string;
  /** Why it could not be done (e.g. the worker was already gone). */
  skipped?: string;
};

export type Series = {
  name: string;
  /** Series with the same group share a colour (e.g. one system, several percentiles). */
  group?: string;
  style?: 'solid' | 'dashed' | 'dotted';
  /** A label is written next to its point (e.g. the connection count). */
  points: { x: number; y: number; label?: string }[];
};

export type LineChartSpec = {
  kind: 'line';
  file: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xScale?: 'linear' | 'log2';
  yScale?: 'linear' | 'log10';
  series: Series[];
  /** Horizontal reference lines, e.g. an SLO. */
  rules?: { y: number; label: string }[];
};

export type BarChartSpec = {
  kind: 'bars';
  file: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: { name: string; values: (number | null)[] }[];
};

/** Per-second req/s (2xx) and p99 with failed and shed requests as bars, and the events as vertical markers. */
export type TimelineChartSpec = {
  kind: 'timeline';
  file: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  seconds: TimelineSecond[];
  events: TimelineEvent[];
};

export type ChartSpec = LineChartSpec | BarChartSpec | TimelineChartSpec;
