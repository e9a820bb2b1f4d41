// Small pieces for hand-written SVG charts: scales with "nice" ticks
// (1-2-5 steps, Heckbert's nice numbers), number formatting and escaping.
// No chart library: the charts are a few dozen elements each.

export type Scale = {
  /** Domain value → pixel. */
  at(value: number): number;
  ticks: number[];
};

/** Colour-blind-friendly categorical palette (Tableau 10). */
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'] as const;

export function colour(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

/** A step of 1, 2 or 5 × 10^k close to range / count. */
export function niceStep(range: number, count: number): number {
  if (!(range > 0)) return 1;
  const raw = range / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Linear scale from 0 (or the data's min when negative) to a nice max. */
export function linearScale(values: readonly number[], pixelFrom: number, pixelTo: number, tickCount = 5): Scale {
  const max = Math.max(0, ...values);
  const min = Math.min(0, ...values);
  const step = niceStep(max - min || 1, tickCount);
  const lo = Math.floor(min / step) * step;
  const hi = Math.max(lo + step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { at: (v) => pixelFrom + ((v - lo) / (hi - lo)) * (pixelTo - pixelFrom), ticks };
}

/** Log10 scale over whole decades, ticks at 1-2-5 (thinned to ~8 labels). */
export function log10Scale(values: readonly number[], pixelFrom: number, pixelTo: number): Scale {
  const positive = values.filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
  let hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, lo * 10)));
  if (hi <= lo) hi = lo * 10;
  const decades = Math.round(Math.log10(hi / lo));
  const steps = decades <= 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let d = lo; d <= hi * 1.0001; d *= 10) for (const s of steps) if (d * s <= hi * 1.0001) ticks.push(Number((d * s).toPrecision(6)));
  const span = Math.log10(hi / lo);
  return { at: (v) => pixelFrom + (Math.log10(Math.max(v, lo) / lo) / span) * (pixelTo - pixelFrom), ticks };
}

/** Log2 scale for counts (connections, replicas), ticks at powers of two. */
export function log2Scale(values: readonly number[], pixelFrom: number, pixelTo: number): Scale {
  const positive = values.filter((v) => v > 0);
  const lo = 2 ** Math.floor(Math.log2(Math.min(...positive, 1)));
  const hi = Math.max(lo * 2, 2 ** Math.ceil(Math.log2(Math.max(...positive, 1))));
  const ticks: number[] = [];
  for (let t = lo; t <= hi; t *= 2) ticks.push(t);
  const span = Math.log2(hi / lo);
  return { at: (v) => pixelFrom + (Math.log2(Math.max(v, lo) / lo) / span) * (pixelTo - pixelFrom), ticks };
}

/** 0.5, 12, 1234, 1.5k, 20k, 1.2M: short tick and value labels (round thousands as k). */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4 || (abs >= 1000 && value % 100 === 0)) return `${trim(value / 1e3)}k`;
  if (abs >= 100 || Number.isInteger(value)) return String(Math.round(value));
  if (abs >= 10) return trim(value);
  return String(Number(value.toPrecision(2)));
}

function trim(value: number): string {
  return String(Number(value.toFixed(1)));
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** An SVG element with attributes (numbers rounded to 0.1 px) and optional content. */
export function el(name: string, attrs: Record<string, string | number | undefined>, content?: string): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${typeof v === 'number' ? Math.round(v * 10) / 10 : escapeXml(v!)}"`)
    .join(' ');
  return content === undefined ? `<${name} ${a}/>` : `<${name} ${a}>${content}</${name}>`;
}
