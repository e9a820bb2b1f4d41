// Presentation: a ChartSpec (data only) → a standalone SVG document. Three
// kinds: line charts (latency vs throughput, throughput vs connections or
// replicas), grouped bar charts, and per-second timelines with event markers
// (req/s on the left axis, p99 on a log axis at the right). Layout:
//
//   ┌──────────────────────────────────────────────────┐
//   │ title / subtitle                                  │
//   │  y ┤ ─ ─ grid ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─  │ legend      │
//   │    ┤        •──•──•                  │ ■ gateway   │
//   │    └──┬─────┬─────┬─────┬──          │ ■ direct    │
//   │             x label                               │
//   └──────────────────────────────────────────────────┘

import type { BarChartSpec, ChartSpec, LineChartSpec, Series, TimelineChartSpec } from './chart-spec.ts';
import { colour, el, escapeXml, formatNumber, linearScale, log10Scale, log2Scale, type Scale } from './svg.ts';

const WIDTH = 800;
const HEIGHT = 460;
const PLOT = { left: 76, right: WIDTH - 190, top: 70, bottom: HEIGHT - 62 } as const;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** A white outline under text keeps labels readable where they cross lines. */
const HALO = { stroke: '#ffffff', 'stroke-width': 3, 'stroke-linejoin': 'round', 'paint-order': 'stroke' } as const;
const DASH: Record<NonNullable<Series['style']>, string | undefined> = { solid: undefined, dashed: '7 4', dotted: '2 3' };

export function renderChart(spec: ChartSpec): string {
  const body = spec.kind === 'line' ? lineChart(spec) : spec.kind === 'bars' ? barChart(spec) : timelineChart(spec);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT} font-size="12">`,
    el('rect', { x: 0, y: 0, width: WIDTH, height: HEIGHT, fill: '#ffffff' }),
    el('text', { x: PLOT.left, y: 28, 'font-size': 17, 'font-weight': 600, fill: '#1f2328' }, escapeXml(spec.title)),
    spec.subtitle ? el('text', { x: PLOT.left, y: 48, fill: '#656d76' }, escapeXml(spec.subtitle)) : '',
    body,
    '</svg>',
    '',
  ].join('\n');
}

function lineChart(spec: LineChartSpec): string {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = [...spec.series.flatMap((s) => s.points.map((p) => p.y)), ...(spec.rules ?? []).map((r) => r.y)];
  if (xs.length === 0) return emptyNote();
  const x = spec.xScale === 'log2' ? log2Scale(xs, PLOT.left, PLOT.right) : linearScale(xs, PLOT.left, PLOT.right, 6);
  const y = spec.yScale === 'log10' ? log10Scale(ys, PLOT.bottom, PLOT.top) : linearScale(ys, PLOT.bottom, PLOT.top);
  const groups = [...new Set(spec.series.map((s) => s.group ?? s.name))];
  const out = [axes(x, y, spec.xLabel, spec.yLabel)];

  for (const rule of spec.rules ?? []) {
    const py = y.at(rule.y);
    out.push(el('line', { x1: PLOT.left, x2: PLOT.right, y1: py, y2: py, stroke: '#cf222e', 'stroke-width': 1.2, 'stroke-dasharray': '4 3' }));
    out.push(el('text', { x: PLOT.right - 4, y: py - 5, 'text-anchor': 'end', fill: '#cf222e', 'font-size': 11, ...HALO }, escapeXml(rule.label)));
  }
  const labels = new LabelPlacer();
  for (const s of spec.series) {
    const stroke = colour(groups.indexOf(s.group ?? s.name));
    // Points are joined in the order given (by load), so a curve that bends back shows as it is.
    const points = s.points;
    const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(x.at(p.x))},${round(y.at(p.y))}`).join(' ');
    if (points.length > 1) out.push(el('path', { d: path, fill: 'none', stroke, 'stroke-width': 2, 'stroke-dasharray': DASH[s.style ?? 'solid'], 'stroke-linejoin': 'round' }));
    for (const p of points) {
      const title = `${s.name}: ${formatNumber(p.y)} at ${formatNumber(p.x)}`;
      out.push(el('circle', { cx: x.at(p.x), cy: y.at(p.y), r: s.style === 'solid' || !s.style ? 3.5 : 2.5, fill: stroke, stroke: '#ffffff', 'stroke-width': 1 }, `<title>${escapeXml(title)}</title>`));
      const at = p.label ? labels.place(x.at(p.x), y.at(p.y), p.label) : null;
      if (at) out.push(el('text', { x: at.x, y: at.y, 'font-size': 10, fill: '#424a53', ...HALO }, escapeXml(p.label!)));
    }
  }

  const legend = groups.map((g, i) => ({ label: g, swatch: swatchRect(colour(i)) }));
  const styles = [...new Map(spec.series.filter((s) => s.group).map((s) => [s.style ?? 'solid', s.name.replace(`${s.group} `, '')])).entries()];
  if (styles.length > 1) {
    legend.push({ label: '', swatch: '' });
    for (const [style, label] of styles) legend.push({ label, swatch: swatchLine('#57606a', DASH[style]) });
  }
  out.push(legendBox(legend));
  return out.join('\n');
}

function barChart(spec: BarChartSpec): string {
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (values.length === 0 || spec.categories.length === 0) return emptyNote();
  const y = linearScale(values, PLOT.bottom, PLOT.top);
  const band = (PLOT.right - PLOT.left) / spec.categories.length;
  const gap = band * 0.2;
  const barWidth = Math.min(56, (band - gap) / spec.series.length);
  const out = [axes(null, y, spec.xLabel, spec.yLabel)];

  spec.categories.forEach((category, ci) => {
    const centre = PLOT.left + band * (ci + 0.5);
    out.push(el('text', { x: centre, y: PLOT.bottom + 18, 'text-anchor': 'middle', fill: '#1f2328' }, escapeXml(category)));
    const groupStart = centre - (barWidth * spec.series.length) / 2;
    spec.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === null || v === undefined) return;
      const bx = groupStart + si * barWidth;
      const by = y.at(v);
      out.push(el('rect', { x: bx + 1, y: by, width: barWidth - 2, height: Math.max(0, PLOT.bottom - by), fill: colour(si), rx: 2 }, `<title>${escapeXml(`${s.name} · ${category}: ${formatNumber(v)}`)}</title>`));
      if (barWidth >= 26) out.push(el('text', { x: bx + barWidth / 2, y: by - 4, 'text-anchor': 'middle', 'font-size': 10, fill: '#424a53' }, formatNumber(v)));
    });
  });
  out.push(legendBox(spec.series.map((s, i) => ({ label: s.name, swatch: swatchRect(colour(i)) }))));
  return out.join('\n');
}

const TIMELINE = { ok: colour(0), p99: colour(5), failed: '#cf222e', shed: colour(1), event: '#57606a' } as const;

function timelineChart(spec: TimelineChartSpec): string {
  if (spec.seconds.length === 0) return emptyNote();
  const x = linearScale([0, spec.seconds.length], PLOT.left, PLOT.right, 10);
  const y = linearScale(spec.seconds.map((s) => s.ok + s.failed + s.shed), PLOT.bottom, PLOT.top);
  const p99s = spec.seconds.map((s) => s.p99Ms).filter((v): v is number => v !== null);
  const right = log10Scale(p99s.length > 0 ? p99s : [1], PLOT.bottom, PLOT.top);
  const out = [axes(x, y, spec.xLabel, 'requests per second (by intended send time)')];
  for (const t of right.ticks) {
    out.push(el('text', { x: PLOT.right + 6, y: right.at(t) + 4, fill: TIMELINE.p99, 'font-size': 11 }, formatNumber(t)));
  }
  // Failed (red) then shed (orange) requests, stacked from the axis, one bar per second.
  const width = Math.max(1, x.at(1) - x.at(0) - 2);
  for (const s of spec.seconds) {
    let base = 0;
    for (const [count, fill, what] of [[s.failed, TIMELINE.failed, 'failed'], [s.shed, TIMELINE.shed, 'shed']] as const) {
      if (count === 0) continue;
      const top = y.at(base + count);
      out.push(el('rect', { x: x.at(s.second) + 1, y: top, width, height: Math.max(1, y.at(base) - top), fill, 'fill-opacity': 0.8 }, `<title>${s.second} s: ${count} ${what}</title>`));
      base += count;
    }
  }
  const line = (points: { px: number; py: number }[], stroke: string, dash?: string): string =>
    el('path', { d: points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.px)},${round(p.py)}`).join(' '), fill: 'none', stroke, 'stroke-width': 2, 'stroke-dasharray': dash, 'stroke-linejoin': 'round' });
  const mid = (second: number): number => x.at(second + 0.5);
  out.push(line(spec.seconds.map((s) => ({ px: mid(s.second), py: y.at(s.ok) })), TIMELINE.ok));
  // A second without any 2xx answer has no p99: the line breaks there.
  const runs: { px: number; py: number }[][] = [[]];
  for (const s of spec.seconds) {
    if (s.p99Ms === null) runs.push([]);
    else runs.at(-1)!.push({ px: mid(s.second), py: right.at(s.p99Ms) });
  }
  for (const r of runs) if (r.length > 1) out.push(line(r, TIMELINE.p99, '7 4'));
  for (const s of spec.seconds) {
    if (s.p99Ms !== null) out.push(el('circle', { cx: mid(s.second), cy: right.at(s.p99Ms), r: 2.5, fill: TIMELINE.p99 }, `<title>${s.second} s: p99 ${formatNumber(s.p99Ms)} ms</title>`));
  }
  for (const e of spec.events) {
    const px = x.at(e.atS);
    out.push(el('line', { x1: px, x2: px, y1: PLOT.top, y2: PLOT.bottom, stroke: TIMELINE.event, 'stroke-width': 1.2, 'stroke-dasharray': '3 3' }));
    out.push(el('text', { x: px - 3, y: PLOT.top + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#1f2328', transform: `rotate(-90 ${round(px - 3)} ${PLOT.top + 4})`, ...HALO }, escapeXml(e.label)));
  }
  out.push(
    legendBox(
      [
        { label: '2xx/s', swatch: swatchLine(TIMELINE.ok, undefined) },
        { label: 'p99 ms (right)', swatch: swatchLine(TIMELINE.p99, '7 4') },
        { label: 'failed', swatch: swatchRect(TIMELINE.failed) },
        { label: 'shed', swatch: swatchRect(TIMELINE.shed) },
        { label: 'event', swatch: swatchLine(TIMELINE.event, '3 3') },
      ],
      40,
    ),
  );
  return out.join('\n');
}

/** Grid, axis lines, tick labels and axis titles; x is null for a bar chart's category axis. */
function axes(x: Scale | null, y: Scale, xLabel: string, yLabel: string): string {
  const out: string[] = [];
  for (const t of y.ticks) {
    const py = y.at(t);
    out.push(el('line', { x1: PLOT.left, x2: PLOT.right, y1: py, y2: py, stroke: '#d8dee4', 'stroke-width': 1 }));
    out.push(el('text', { x: PLOT.left - 8, y: py + 4, 'text-anchor': 'end', fill: '#57606a', 'font-size': 11 }, formatNumber(t)));
  }
  for (const t of x?.ticks ?? []) {
    const px = x!.at(t);
    out.push(el('line', { x1: px, x2: px, y1: PLOT.top, y2: PLOT.bottom, stroke: '#eaeef2', 'stroke-width': 1 }));
    out.push(el('line', { x1: px, x2: px, y1: PLOT.bottom, y2: PLOT.bottom + 5, stroke: '#57606a' }));
    out.push(el('text', { x: px, y: PLOT.bottom + 19, 'text-anchor': 'middle', fill: '#57606a', 'font-size': 11 }, formatNumber(t)));
  }
  out.push(el('line', { x1: PLOT.left, x2: PLOT.right, y1: PLOT.bottom, y2: PLOT.bottom, stroke: '#57606a', 'stroke-width': 1.2 }));
  out.push(el('line', { x1: PLOT.left, x2: PLOT.left, y1: PLOT.top, y2: PLOT.bottom, stroke: '#57606a', 'stroke-width': 1.2 }));
  out.push(el('text', { x: (PLOT.left + PLOT.right) / 2, y: HEIGHT - 18, 'text-anchor': 'middle', fill: '#1f2328', 'font-size': 13 }, escapeXml(xLabel)));
  const cy = (PLOT.top + PLOT.bottom) / 2;
  out.push(el('text', { x: 20, y: cy, 'text-anchor': 'middle', fill: '#1f2328', 'font-size': 13, transform: `rotate(-90 20 ${round(cy)})` }, escapeXml(yLabel)));
  return out.join('\n');
}

/** Point labels: above-right of the point, else below-right, else above-left; left out when all would overlap an earlier label or leave the plot. */
class LabelPlacer {
  readonly #boxes: { x: number; y: number; w: number; h: number }[] = [];

  place(px: number, py: number, text: string): { x: number; y: number } | null {
    const w = text.length * 5.6;
    const h = 11;
    for (const candidate of [{ x: px + 6, y: py - 6 }, { x: px + 6, y: py + 14 }, { x: px - 6 - w, y: py - 6 }]) {
      const box = { x: candidate.x, y: candidate.y - h + 2, w, h };
      const clash = this.#boxes.some((b) => box.x < b.x + b.w && b.x < box.x + box.w && box.y < b.y + b.h && b.y < box.y + box.h);
      if (!clash && box.x >= PLOT.left && box.x + w <= PLOT.right + 4) {
        this.#boxes.push(box);
        return candidate;
      }
    }
    return null;
  }
}

type LegendEntry = { label: string; swatch: string };

function legendBox(entries: LegendEntry[], dx = 0): string {
  const x = PLOT.right + 22 + dx;
  return entries
    .map((e, i) => {
      const y = PLOT.top + 6 + i * 22;
      if (!e.label) return '';
      return `<g transform="translate(${x} ${y})">${e.swatch}${el('text', { x: 26, y: 4, fill: '#1f2328' }, escapeXml(e.label))}</g>`;
    })
    .join('\n');
}

function swatchRect(fill: string): string {
  return el('rect', { x: 0, y: -6, width: 18, height: 12, rx: 2, fill });
}

function swatchLine(stroke: string, dash: string | undefined): string {
  return el('line', { x1: 0, x2: 18, y1: 0, y2: 0, stroke, 'stroke-width': 2, 'stroke-dasharray': dash });
}

function emptyNote(): string {
  return el('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle', fill: '#656d76' }, 'no data (every run failed or was skipped)');
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
