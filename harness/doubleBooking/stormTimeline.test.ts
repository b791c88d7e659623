import { describe, expect, it } from 'vitest';
import { stormChart } from './stormTimeline.ts';

describe('stormChart', () => {
  it('plots the decision rate between samples, the undecided backlog and a mark per kill', () => {
    const chart = stormChart(
      {
        points: [
          { atSeconds: 0, answered: 0, decided: 0 },
          { atSeconds: 1, answered: 400, decided: 350 },
          { atSeconds: 2.5, answered: 800, decided: 500 },
        ],
        kills: [{ atSeconds: 1.2, victim: 'settler-1' }],
      },
      'run',
    );
    expect(chart.series.map((s) => [s.label, s.points])).toEqual([
      [
        'decided per second',
        [
          [1, 350],
          [2.5, 100],
        ],
      ],
      [
        'answered, not yet decided',
        [
          [0, 0],
          [1, 50],
          [2.5, 300],
        ],
      ],
    ]);
    expect(chart.marks).toEqual([{ label: 'kill 1', x: 1.2, color: expect.any(String) }]);
  });
});
