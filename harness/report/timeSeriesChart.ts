/**
 * A small SVG chart for benchmark and harness reports: series of (x, y) points drawn as dots or
 * lines over labelled axes, horizontal rules for goals, vertical marks for events, linear or
 * logarithmic y. It draws what a
 * report needs (latency over a run, progress over time) and nothing more; renderPng.ts turns the
 * SVG into the PNG the reports link.
 */

/** One series: dots suit thousands of samples, lines suit a per-bin statistic. */
export interface ChartSeries {
  label: string;
  /** Any SVG colour. */
  color: string;
  style: 'dots' | 'line';
  points: ReadonlyArray<readonly [x: number, y: number]>;
}

/** A labelled horizontal line, e.g. a goal. */
export interface ChartRule {
  label: string;
  y: number;
  color: string;
}

/** A labelled vertical line, e.g. an event during the run. */
export interface ChartMark {
  label: string;
  x: number;
  color: string;
}

/** What to draw. */
export interface TimeSeriesChartSpec {
  title: string;
  /** A second line under the title (run parameters, machine). */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  rules?: readonly ChartRule[];
  marks?: readonly ChartMark[];
  /** Logarithmic y suits latencies that span decades; values ≤ 0 are left out of it. */
  yScale?: 'linear' | 'log';
  width?: number;
  height?: number;
}

const margin = { left: 72, right: 24, top: 64, bottom: 84 };
const font = "font-family='DejaVu Sans, sans-serif'";

/** Tick values for a linear axis over [min, max]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function linearTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Tick values for a log axis over [min, max] (both > 0): 1, 2 and 5 × 10^k inside the range. */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** k).toPrecision(12));
      if (t >= min && t <= max) ticks.push(t);
    }
  }
  return ticks;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function tickLabel(value: number): string {
  return Math.abs(value) >= 1000 ? `${value / 1000}k` : String(value);
}

/** Where the plot area lies and how data maps into it. */
interface Frame {
  spec: TimeSeriesChartSpec;
  width: number;
  height: number;
  plotW: number;
  plotH: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  log: boolean;
  /** Finite, and positive on a log scale. */
  drawable(y: number): boolean;
  /** Each series' points that can be drawn, in the order of `spec.series`. */
  visible: ReadonlyArray<ChartSeries['points']>;
  sx(x: number): string;
  sy(y: number): string;
}

function frameOf(spec: TimeSeriesChartSpec): Frame {
  const width = spec.width ?? 960;
  const height = spec.height ?? 480;
  const log = spec.yScale === 'log';
  const drawable = (y: number) => Number.isFinite(y) && (!log || y > 0);
  const visible = spec.series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && drawable(y)));
  const points = visible.flat();
  if (points.length === 0) throw new RangeError(`chart "${spec.title}" has no point to draw`);
  const xs = points.map(([x]) => x);
  const ys = [...points.map(([, y]) => y), ...(spec.rules ?? []).map((r) => r.y).filter(drawable)];
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) > xMin ? Math.max(...xs) : xMin + 1;
  // A log axis spans whole decades; a linear one starts at zero unless values go below it.
  const yMin = log ? 10 ** Math.floor(Math.log10(Math.min(...ys))) : Math.min(0, ...ys);
  let yMax = log ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys);
  if (!(yMax > yMin)) yMax = yMin + 1;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const fraction = log
    ? (y: number) => (Math.log10(y) - Math.log10(yMin)) / Math.log10(yMax / yMin)
    : (y: number) => (y - yMin) / (yMax - yMin);
  return {
    spec,
    width,
    height,
    plotW,
    plotH,
    xMin,
    xMax,
    yMin,
    yMax,
    log,
    drawable,
    visible,
    sx: (x) => (margin.left + ((x - xMin) / (xMax - xMin)) * plotW).toFixed(1),
    sy: (y) => (margin.top + plotH - fraction(y) * plotH).toFixed(1),
  };
}

function titleAndAxes(frame: Frame): string[] {
  const { spec, plotW, plotH } = frame;
  const parts = [
    `<text x='${margin.left}' y='26' ${font} font-size='17' font-weight='bold'>${escapeXml(spec.title)}</text>`,
  ];
  if (spec.subtitle) {
    parts.push(
      `<text x='${margin.left}' y='46' ${font} font-size='12' fill='#444'>${escapeXml(spec.subtitle)}</text>`,
    );
  }
  const yTicks = frame.log ? logTicks(frame.yMin, frame.yMax) : linearTicks(frame.yMin, frame.yMax);
  for (const t of yTicks) {
    const y = frame.sy(t);
    parts.push(
      `<line x1='${margin.left}' x2='${margin.left + plotW}' y1='${y}' y2='${y}' stroke='#e3e3e3'/>`,
      `<text x='${margin.left - 8}' y='${y}' dy='4' text-anchor='end' ${font} font-size='11'>${tickLabel(t)}</text>`,
    );
  }
  for (const t of linearTicks(frame.xMin, frame.xMax, 10)) {
    const x = frame.sx(t);
    parts.push(
      `<line x1='${x}' x2='${x}' y1='${margin.top}' y2='${margin.top + plotH}' stroke='#f0f0f0'/>`,
      `<text x='${x}' y='${margin.top + plotH + 18}' text-anchor='middle' ${font} font-size='11'>${tickLabel(t)}</text>`,
    );
  }
  parts.push(
    `<rect x='${margin.left}' y='${margin.top}' width='${plotW}' height='${plotH}' fill='none' stroke='#888'/>`,
    `<text x='${margin.left + plotW / 2}' y='${margin.top + plotH + 40}' text-anchor='middle' ${font} font-size='13'>${escapeXml(spec.xLabel)}</text>`,
    `<text transform='translate(18 ${margin.top + plotH / 2}) rotate(-90)' text-anchor='middle' ${font} font-size='13'>${escapeXml(spec.yLabel)}</text>`,
  );
  return parts;
}

function seriesShapes(frame: Frame): string[] {
  const parts: string[] = [];
  // Dots first, so that lines stay readable on top of them.
  const ordered = frame.spec.series
    .map((series, i) => ({ series, visible: frame.visible[i]! }))
    .sort((a, b) => (a.series.style === b.series.style ? 0 : a.series.style === 'dots' ? -1 : 1));
  for (const { series: s, visible } of ordered) {
    if (s.style === 'dots') {
      parts.push(
        `<g fill='${s.color}' fill-opacity='0.45'>`,
        ...visible.map(([x, y]) => `<circle cx='${frame.sx(x)}' cy='${frame.sy(y)}' r='1.6'/>`),
        '</g>',
      );
    } else if (visible.length > 0) {
      const path = visible.map(([x, y]) => `${frame.sx(x)},${frame.sy(y)}`).join(' ');
      parts.push(`<polyline points='${path}' fill='none' stroke='${s.color}' stroke-width='2'/>`);
    }
  }
  return parts;
}

function rulesAndMarks(frame: Frame): string[] {
  const { spec, plotW, plotH } = frame;
  const parts: string[] = [];
  for (const rule of spec.rules ?? []) {
    if (!frame.drawable(rule.y) || rule.y < frame.yMin || rule.y > frame.yMax) continue;
    const y = frame.sy(rule.y);
    parts.push(
      `<line x1='${margin.left}' x2='${margin.left + plotW}' y1='${y}' y2='${y}' stroke='${rule.color}' stroke-width='1.5' stroke-dasharray='6 4'/>`,
      `<text x='${margin.left + plotW - 6}' y='${y}' dy='-5' text-anchor='end' ${font} font-size='12' fill='${rule.color}'>${escapeXml(rule.label)}</text>`,
    );
  }
  for (const mark of spec.marks ?? []) {
    if (!(mark.x >= frame.xMin && mark.x <= frame.xMax)) continue;
    const x = frame.sx(mark.x);
    parts.push(
      `<line x1='${x}' x2='${x}' y1='${margin.top}' y2='${margin.top + plotH}' stroke='${mark.color}' stroke-width='1.2' stroke-dasharray='3 3'/>`,
      `<text x='${x}' y='${margin.top - 4}' text-anchor='middle' ${font} font-size='10' fill='${mark.color}'>${escapeXml(mark.label)}</text>`,
    );
  }
  return parts;
}

function legend(frame: Frame): string[] {
  const parts: string[] = [];
  let x = margin.left;
  const y = frame.height - 16;
  for (const s of frame.spec.series) {
    parts.push(
      s.style === 'dots'
        ? `<circle cx='${x + 8}' cy='${y - 4}' r='4' fill='${s.color}'/>`
        : `<line x1='${x}' x2='${x + 18}' y1='${y - 4}' y2='${y - 4}' stroke='${s.color}' stroke-width='2.5'/>`,
      `<text x='${x + 24}' y='${y}' ${font} font-size='12'>${escapeXml(s.label)}</text>`,
    );
    // DejaVu Sans at 12 px averages ~7 px per character.
    x += 24 + s.label.length * 7 + 24;
  }
  return parts;
}

/** The chart as an SVG document. Throws when no series has a point to draw. */
export function timeSeriesSvg(spec: TimeSeriesChartSpec): string {
  const frame = frameOf(spec);
  return [
    `<svg xmlns='http://www.w3.org/2000/svg' width='${frame.width}' height='${frame.height}' viewBox='0 0 ${frame.width} ${frame.height}'>`,
    `<rect width='100%' height='100%' fill='white'/>`,
    ...titleAndAxes(frame),
    ...seriesShapes(frame),
    ...rulesAndMarks(frame),
    ...legend(frame),
    '</svg>',
  ].join('\n');
}
