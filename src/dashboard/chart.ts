// The dashboard's chart: daily tokens by model over a quota period, drawn as stacked bars in an inline
// SVG generated here, so the page needs no script, no CDN and no chart library.
import { formatNumber, html, type SafeHtml } from './html.ts';

export interface DailyPoint {
  day: string; // YYYY-MM-DD (UTC)
  model: string;
  tokens: number;
}

export interface ChartInput {
  periodStart: Date;
  periodEnd: Date;
  points: DailyPoint[];
}

// Okabe–Ito: tells series apart for the common kinds of colour blindness.
export const CHART_COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#8C8C8C'];
const MAX_SERIES = CHART_COLOURS.length;
const WIDTH = 720;
const HEIGHT = 200;
const PAD = { left: 56, right: 8, top: 10, bottom: 24 };
const DAY_MS = 86_400_000;

/** The days of [start, end) as YYYY-MM-DD, at most 62 (a monthly period has 28 to 31). */
function periodDays(start: Date, end: Date): string[] {
  const days: string[] = [];
  const first = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  for (let t = first; t < end.getTime() && days.length < 62; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** Models by total tokens; past the palette the smallest are summed as "other". */
function seriesOf(points: DailyPoint[]): { names: string[]; fold: (model: string) => string } {
  const totals = new Map<string, number>();
  for (const p of points) totals.set(p.model, (totals.get(p.model) ?? 0) + p.tokens);
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
  if (ranked.length <= MAX_SERIES) return { names: ranked, fold: (model) => model };
  const kept = new Set(ranked.slice(0, MAX_SERIES - 1));
  return { names: [...kept, 'other'], fold: (model) => (kept.has(model) ? model : 'other') };
}

/** A round axis maximum at or above the largest day (1, 2, 2.5, 5 × 10^n). */
function axisMax(value: number): number {
  if (value <= 0) return 100;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

export function renderDailyChart(input: ChartInput, label: string): SafeHtml {
  const days = periodDays(input.periodStart, input.periodEnd);
  const { names, fold } = seriesOf(input.points);
  const byDay = new Map<string, Map<string, number>>();
  for (const p of input.points) {
    const row = byDay.get(p.day) ?? new Map<string, number>();
    row.set(fold(p.model), (row.get(fold(p.model)) ?? 0) + p.tokens);
    byDay.set(p.day, row);
  }
  const dayTotals = days.map((d) => [...(byDay.get(d)?.values() ?? [])].reduce((a, b) => a + b, 0));
  const max = axisMax(Math.max(0, ...dayTotals));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, days.length);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => html`
    <line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(f * max).toFixed(1)}" y2="${y(f * max).toFixed(1)}" class="grid"/>
    <text x="${PAD.left - 6}" y="${(y(f * max) + 4).toFixed(1)}" text-anchor="end" class="axis">${formatNumber(f * max)}</text>`);
  const bars = days.map((day, i) => {
    let base = 0;
    const x = PAD.left + i * slot + slot * 0.15;
    const segments = names.map((name, s) => {
      const tokens = byDay.get(day)?.get(name) ?? 0;
      if (tokens <= 0) return html``;
      const top = y(base + tokens);
      const h = y(base) - top;
      base += tokens;
      return html`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${CHART_COLOURS[s]}"><title>${day} · ${name}: ${formatNumber(tokens)} tokens</title></rect>`;
    });
    const tick = i % 5 === 0 || i === days.length - 1
      ? html`<text x="${(PAD.left + (i + 0.5) * slot).toFixed(1)}" y="${HEIGHT - 6}" text-anchor="middle" class="axis">${day.slice(5)}</text>`
      : html``;
    return html`${segments}${tick}`;
  });
  const legend = names.map((name, s) => html`<li><span class="swatch swatch-${s}"></span>${name}</li>`);
  const total = dayTotals.reduce((a, b) => a + b, 0);
  return html`<figure class="chart" data-chart-total="${total}">
  <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" aria-label="${label}: ${formatNumber(total)} tokens from ${days[0] ?? ''} to ${days[days.length - 1] ?? ''}" xmlns="http://www.w3.org/2000/svg">
    ${grid}${bars}
  </svg>
  <figcaption>${names.length === 0 ? html`No usage in this period yet.` : html`<ul class="legend">${legend}</ul>`}</figcaption>
</figure>`;
}
