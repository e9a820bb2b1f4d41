// The Prometheus text exposition (what a gateway's GET /metrics answers) →
// samples, and sums over chosen samples. Enough of the format for our own
// exposition: `# HELP` / `# TYPE` lines are skipped, label values may hold
// escaped quotes, backslashes and newlines, a timestamp after the value is
// ignored.
//
//   infergate_requests_total{model="classifier",process="front-1"} 5120
//   └── name ────────────────┘└── labels ───────────────────────────┘ └ value

export type MetricSample = { name: string; labels: Readonly<Record<string, string>>; value: number };

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /\s*([a-zA-Z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? ''), value: parseValue(match[3]!) });
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  for (let m = LABEL.exec(text); m !== null; m = LABEL.exec(text)) {
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * Sums of `name`'s samples that pass `where`, keyed by `by(labels)`: e.g. a
 * counter per worker across its models and outcomes.
 */
export function sumBy(
  samples: readonly MetricSample[],
  name: string,
  by: (labels: Readonly<Record<string, string>>) => string,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name || !where(s.labels)) continue;
    const key = by(s.labels);
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}
