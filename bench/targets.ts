/**
 * One row of RESULTS.md's Targets table as data: the markdown the table shows, and the figures
 * behind it, which a full run records in `bench/runs.json` (`run-history.ts`) so that runs can be
 * compared without parsing markdown back.
 */

/** What a row concluded: judged against its target, reported without one, or not measured. */
export type TargetResult = 'met' | 'missed' | 'reported' | 'skipped' | 'not measured';

/** How a figure is written: `×` for ratios, a unit after a space otherwise, nothing for a count. */
export type FigureUnit = '×' | 'ms' | 'MB' | 'KB' | 'µs' | '';

/** A figure a row is judged on or reports. */
export interface TargetFigure {
  /** Its key in `bench/runs.json`: never renamed, never reused for another figure. */
  readonly id: string;
  /** What the "Across runs" table calls it, with the target's bound: `BFF req/s ÷ express's (≥ 4×)`. */
  readonly label: string;
  /** NaN when this run did not measure it. */
  readonly value: number;
  readonly unit: FigureUnit;
  /** Decimals shown. */
  readonly digits: number;
}

export interface TargetRow {
  /** The target, as the table's first column states it (markdown). */
  readonly target: string;
  /** How it was measured and the figures, as the table's second column shows them (markdown). */
  readonly measured: string;
  readonly result: TargetResult;
  /** The figures, the one the result turns on first; none for a row of prose. */
  readonly figures: readonly TargetFigure[];
}

/** The result of a bound checked: a NaN figure (not measured) compares false, so it is missed. */
export const judge = (met: boolean): TargetResult => (met ? 'met' : 'missed');

const RESULT_CELLS: Readonly<Record<TargetResult, string>> = {
  met: '**met**',
  missed: '**missed**',
  reported: 'reported',
  skipped: 'skipped',
  'not measured': '–',
};

/** `| target | measured | result |` */
export function renderTargetRow(row: TargetRow): string {
  return `| ${row.target} | ${row.measured} | ${RESULT_CELLS[row.result]} |`;
}

/** A row whose scenario did not run in this run: its figures stay, as NaN, so runs.json says so. */
export function notMeasuredRow(target: string, figures: readonly Omit<TargetFigure, 'value'>[]): TargetRow {
  return {
    target,
    measured: 'not measured in this run',
    result: 'not measured',
    figures: figures.map((figure) => ({ ...figure, value: Number.NaN })),
  };
}

/** `5.55×`, `1.38 ms`, `3`; `–` for NaN. */
export function formatFigure(value: number, unit: FigureUnit, digits: number): string {
  if (!Number.isFinite(value)) return '–';
  const number = value.toFixed(digits);
  if (unit === '×') return `${number}×`;
  return unit === '' ? number : `${number} ${unit}`;
}
