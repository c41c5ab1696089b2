// The figures of a report as data (`<report>.figures.json` holds them as they are here): what each
// plot shows, independent of how it is drawn (src/report/plots/render.ts draws them).

export interface Point {
  /** A number on a continuous x axis; for bars, the category. */
  x: number | string;
  /** null: no value (nothing measured); drawn as a gap or a "no data" mark. */
  y: number | null;
  /** A 95% interval around y, where known. */
  lo?: number;
  hi?: number;
}
export interface Series {
  /** Legend entry: the mechanism or policy (and what else varies) in a few words. */
  name: string;
  /** The mechanism or policy this series is a variant of: series of one group share a hue. */
  group?: string;
  points: Point[];
}
export interface Figure {
  id: string;
  /** The question the plot answers. */
  title: string;
  /** lines: y against a continuous x per series; bars: a value per category (x) per series. */
  kind: 'lines' | 'bars';
  /** Axis titles, units included; for bars xLabel names the categories and yLabel the value axis. */
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  /** x tick values, drawn as integers (CPU counts: the powers of 2 around the data). */
  xTicks?: number[];
  /** y values are fractions, shown as percentages. */
  yPercent?: boolean;
  /** What the series are (the legend's title), e.g. "drain mechanism". */
  legend: string;
  /** Every series the study has, in one order across its figures (so colours match). */
  series: Series[];
  /** What a bar with no value means (bars: e.g. "no drain-all"). */
  missing?: string;
  /** One sentence under the plot saying what it shows, from the data. */
  caption: string;
  /** Conditions the plot holds fixed (time base, parameters), and values a log axis cannot draw. */
  note?: string;
}
