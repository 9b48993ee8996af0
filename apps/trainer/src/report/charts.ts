import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG string headlessly (renderer 'none': no canvas needed). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Point {
  series: string;
  x: number;
  y: number;
}

/** Chart size: two charts side by side fit a 1,280 px window with the page's margins. */
export const CHART_WIDTH = 440;
export const CHART_HEIGHT = 240;

export interface ChartOptions {
  /** A log-scaled x axis with ticks at exactly these values (k-shot sizes); the domain ends at them. */
  logTicks?: readonly number[];
}

/** A line chart, one coloured line per series, the legend below so long names are never cut. */
export function lineChart(
  title: string,
  xTitle: string,
  yTitle: string,
  points: Point[],
  options: ChartOptions = {},
): TopLevelSpec {
  const ticks = options.logTicks;
  const x = ticks?.length
    ? {
        field: 'x',
        type: 'quantitative' as const,
        title: xTitle,
        scale: { type: 'log' as const, domain: [Math.min(...ticks), Math.max(...ticks)], nice: false },
        axis: { values: [...ticks], format: 'd' },
      }
    : { field: 'x', type: 'quantitative' as const, title: xTitle, scale: { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    data: { values: points },
    mark: { type: 'line', point: points.length < 200 },
    encoding: {
      x,
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        legend: { orient: 'bottom', columns: 3, labelLimit: 0 },
      },
    },
  };
}

/**
 * A loss curve smoothed into buckets of `size` consecutive steps (each point the mean of its
 * bucket's finite values, at the bucket's centre step): per-batch meta-training losses are too
 * noisy to compare raw. Bucket b covers steps b * size + 1 .. (b + 1) * size, the same steps for
 * every curve smoothed with the same size.
 */
export function smoothed(values: readonly number[], size: number): Map<number, { x: number; y: number }> {
  const out = new Map<number, { x: number; y: number }>();
  for (let b = 0; b * size < values.length; b++) {
    const part = values.slice(b * size, (b + 1) * size).filter(Number.isFinite);
    if (part.length === 0) continue;
    const last = Math.min(values.length, (b + 1) * size);
    out.set(b, { x: (b * size + 1 + last) / 2, y: part.reduce((s, v) => s + v, 0) / part.length });
  }
  return out;
}

/** The bucket size that smooths curves of up to `longest` steps into about `points` points. */
export function bucketSize(longest: number, points = 60): number {
  return Math.max(1, Math.ceil(longest / points));
}
