import { describe, expect, it } from 'vitest';
import { pngFromSvg } from './renderPng.ts';
import { linearTicks, logTicks, type TimeSeriesChartSpec, timeSeriesSvg } from './timeSeriesChart.ts';

const spec: TimeSeriesChartSpec = {
  title: 'Latency <per request> & goal',
  xLabel: 'seconds',
  yLabel: 'ms',
  yScale: 'log',
  width: 400,
  height: 200,
  series: [
    {
      label: 'requests',
      color: '#00f',
      style: 'dots',
      points: [
        [0, 5],
        [1, 120],
        [2, 0], // not drawable on a log scale
      ],
    },
    {
      label: 'p99',
      color: '#f00',
      style: 'line',
      points: [
        [0, 8],
        [2, 90],
      ],
    },
  ],
  rules: [{ label: 'goal', y: 50, color: '#f80' }],
};

describe('linearTicks / logTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten', () => {
    expect(linearTicks(0, 20, 6)).toEqual([0, 5, 10, 15, 20]);
    expect(linearTicks(0.3, 1.1, 4)).toEqual([0.4, 0.6, 0.8, 1]);
    expect(linearTicks(3, 3)).toEqual([3]);
  });
  it('marks 1, 2 and 5 of every decade inside the range', () => {
    expect(logTicks(1, 100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(0.1, 1)).toEqual([0.1, 0.2, 0.5, 1]);
  });
});

describe('timeSeriesSvg', () => {
  it('draws every drawable point, the lines, the rule and escaped labels', () => {
    const svg = timeSeriesSvg(spec);
    expect(svg.match(/<circle cx/g)).toHaveLength(2 + 1); // two dots plus the legend's mark
    expect(svg).toContain("<polyline points='");
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('Latency &#60;per request&#62; &#38; goal');
    expect(svg).not.toContain('<per request>');
  });

  it('refuses a chart with nothing to draw', () => {
    expect(() => timeSeriesSvg({ ...spec, series: [{ ...spec.series[0]!, points: [[0, 0]] }] })).toThrow(
      /has no point to draw/,
    );
  });

  it('renders to a PNG of the requested size', () => {
    const png = pngFromSvg(timeSeriesSvg(spec));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR: width and height, big-endian, at bytes 16–23.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([400, 200]);
  });
});
