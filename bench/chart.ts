// Writes the latency-versus-concurrency chart as a hand-made SVG: one panel per route, one colour per
// contender, p50 as a solid line and p99 dashed, a log-scale latency axis, every point labelled with
// its value, and the machine in the title. No dependency: the figure is plain SVG text.

export interface ChartSeries {
  name: string;
  points: { c: number; p50: number; p99: number }[];
}

export interface ChartPanel {
  title: string;
  series: ChartSeries[];
}

const COLORS: Record<string, string> = {
  direct: '#6b7280', bare_http_proxy: '#2563eb', bare_undici: '#0891b2', gateway: '#dc2626', portkey: '#7c3aed',
};
const FALLBACK = ['#059669', '#d97706', '#0891b2'];
const PANEL_W = 520;
const PANEL_H = 380;
const MARGIN = { left: 64, right: 24, top: 40, bottom: 56 };
const TICKS = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (ms: number) => (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2));

function colorOf(name: string, index: number): string {
  return COLORS[name] ?? FALLBACK[index % FALLBACK.length]!;
}

interface Scale {
  x(c: number): number;
  y(ms: number): number;
  ticks: number[];
}

function scaleFor(panel: ChartPanel, concurrencies: number[]): Scale {
  const values = panel.series.flatMap((s) => s.points.flatMap((p) => [p.p50, p.p99])).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.min(...values, 1) / 1.5;
  const hi = Math.max(...values, 1) * 1.5;
  const [logLo, logHi] = [Math.log10(lo), Math.log10(hi)];
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  return {
    x: (c) => MARGIN.left + (plotW * (concurrencies.indexOf(c) + 0.5)) / concurrencies.length,
    y: (ms) => MARGIN.top + plotH * (1 - (Math.log10(Math.max(ms, lo)) - logLo) / (logHi - logLo)),
    ticks: TICKS.filter((t) => t >= lo && t <= hi),
  };
}

function axes(scale: Scale, concurrencies: number[], title: string): string[] {
  const out: string[] = [];
  const right = PANEL_W - MARGIN.right;
  const bottom = PANEL_H - MARGIN.bottom;
  out.push(`<text x="${PANEL_W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (const t of scale.ticks) {
    const y = scale.y(t).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" x2="${right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${t}</text>`);
  }
  for (const c of concurrencies) {
    out.push(`<text x="${scale.x(c).toFixed(1)}" y="${bottom + 18}" text-anchor="middle" font-size="12">${c}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#111827"/>`);
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" stroke="#111827"/>`);
  out.push(`<text x="${(MARGIN.left + right) / 2}" y="${bottom + 40}" text-anchor="middle" font-size="12">concurrent connections</text>`);
  out.push(`<text transform="translate(16 ${(MARGIN.top + bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">latency, ms (log scale)</text>`);
  return out;
}

function seriesLines(scale: Scale, series: ChartSeries, color: string): string[] {
  const out: string[] = [];
  for (const [key, dash] of [['p50', ''], ['p99', ' stroke-dasharray="6 4"']] as const) {
    const pts = series.points.filter((p) => Number.isFinite(p[key]));
    const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${scale.x(p.c).toFixed(1)},${scale.y(p[key]).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const p of pts) {
      const [x, y] = [scale.x(p.c), scale.y(p[key])];
      out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`);
      out.push(`<text x="${(x + 5).toFixed(1)}" y="${(y - 5).toFixed(1)}" font-size="10" fill="${color}">${fmt(p[key])}</text>`);
    }
  }
  return out;
}

function legend(panel: ChartPanel, y: number): string[] {
  const out: string[] = [];
  let x = MARGIN.left;
  panel.series.forEach((s, i) => {
    const color = colorOf(s.name, i);
    out.push(`<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${x + 27}" y="${y}" dominant-baseline="middle" font-size="12">${esc(s.name)}</text>`);
    x += 40 + s.name.length * 7;
  });
  // Above the plot's top-right corner: beside the series it would run past the panel with four contenders.
  out.push(`<text x="${PANEL_W - MARGIN.right}" y="${MARGIN.top - 6}" text-anchor="end" font-size="11" fill="#374151">solid p50 · dashed p99</text>`);
  return out;
}

function panelSvg(panel: ChartPanel, concurrencies: number[], offsetX: number): string {
  const scale = scaleFor(panel, concurrencies);
  const body = [
    ...axes(scale, concurrencies, panel.title),
    ...panel.series.flatMap((s, i) => seriesLines(scale, s, colorOf(s.name, i))),
    ...legend(panel, PANEL_H - 4),
  ];
  return `<g transform="translate(${offsetX} 40)">\n${body.join('\n')}\n</g>`;
}

export function renderChart(title: string, panels: ChartPanel[], concurrencies: number[]): string {
  const width = PANEL_W * panels.length;
  const height = PANEL_H + 56;
  const parts = panels.map((p, i) => panelSvg(p, concurrencies, i * PANEL_W));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
