/**
 * `bench/runs.json`: the Targets figures of the last full runs, one compact record per run (numbers
 * and results keyed by each figure's stable id, no markdown), and RESULTS.md's "Across runs"
 * section built from them, so that a reader sees how far a figure moves between runs of the same
 * code on this shared machine. Pure: run.ts reads and writes the file.
 */
import { type FigureUnit, formatFigure, type TargetResult, type TargetRow } from './targets.ts';

/** Records kept in the file: the oldest is dropped when an eleventh is appended. */
export const RUNS_KEPT = 10;
/** Runs shown side by side in "Across runs". */
export const RUNS_SHOWN = 5;

/** One figure of one run: `null` when the run did not measure it. */
export interface RecordedFigure {
  readonly value: number | null;
  readonly result: TargetResult;
}

export interface RunRecord {
  /** When the run's report was made, ISO 8601 UTC (RESULTS.md's date). */
  readonly date: string;
  /** The commit measured, abbreviated; `unknown` outside a git checkout. */
  readonly commit: string;
  /** apps/ or packages/ had uncommitted changes. */
  readonly uncommitted: boolean;
  readonly runTimeS: number;
  /** By figure id (`TargetFigure.id`). */
  readonly targets: Readonly<Record<string, RecordedFigure>>;
}

/** What a full run knows of itself besides its Targets rows. */
export interface RunMeta {
  readonly date: Date;
  readonly commit: string;
  readonly uncommitted: boolean;
  readonly elapsedS: number;
}

/** Four significant digits: more than any figure is shown with, and the file stays small. */
const stored = (value: number) => (Number.isFinite(value) ? Number(value.toPrecision(4)) : null);

/** The record of one full run: every figure of its Targets rows, with the row's result. */
export function runRecord(meta: RunMeta, rows: readonly TargetRow[]): RunRecord {
  const targets: Record<string, RecordedFigure> = {};
  for (const row of rows) {
    for (const figure of row.figures)
      targets[figure.id] = { value: stored(figure.value), result: row.result };
  }
  return {
    date: meta.date.toISOString(),
    commit: meta.commit,
    uncommitted: meta.uncommitted,
    runTimeS: Math.round(meta.elapsedS),
    targets,
  };
}

/** The history with `record` appended, the last {@link RUNS_KEPT} kept. */
export function appendRun(runs: readonly RunRecord[], record: RunRecord): RunRecord[] {
  return [...runs, record].slice(-RUNS_KEPT);
}

/** The file's text: plain `JSON.stringify` with two spaces, which is also biome's format for it. */
export function serializeRuns(runs: readonly RunRecord[]): string {
  return `${JSON.stringify({ runs }, null, 2)}\n`;
}

/**
 * The records of `bench/runs.json`. A file that is not what {@link serializeRuns} writes throws,
 * so that a hand edit gone wrong stops a run at its start rather than being overwritten.
 */
export function parseRuns(json: string, file: string): RunRecord[] {
  const parsed = JSON.parse(json) as { runs?: unknown };
  if (!Array.isArray(parsed.runs)) throw new TypeError(`${file}: no "runs" array`);
  parsed.runs.forEach((run: Partial<RunRecord>, index) => {
    if (
      typeof run?.date !== 'string' ||
      typeof run.commit !== 'string' ||
      typeof run.targets !== 'object' ||
      run.targets === null
    ) {
      throw new TypeError(`${file}: runs[${index}] lacks a date, a commit or its targets`);
    }
  });
  return parsed.runs as RunRecord[];
}

/** How a figure is labelled and written; ids a newer run no longer has keep their id as label. */
interface FigureStyle {
  readonly label: string;
  readonly unit: FigureUnit;
  readonly digits: number;
}

/** Each figure id to show, in the Targets table's order, then ids only older runs have. */
function figureStyles(rows: readonly TargetRow[], runs: readonly RunRecord[]): Map<string, FigureStyle> {
  const styles = new Map<string, FigureStyle>();
  for (const row of rows) {
    for (const { id, label, unit, digits } of row.figures) styles.set(id, { label, unit, digits });
  }
  for (const run of runs) {
    for (const id of Object.keys(run.targets)) {
      if (!styles.has(id)) styles.set(id, { label: `\`${id}\``, unit: '', digits: 3 });
    }
  }
  return styles;
}

/** `2026-12-07 23:47, 0e55500` (`+`: uncommitted changes), `(this run)` for the report's own. */
function columnHeading(run: RunRecord, thisRunDate: string): string {
  const when = run.date.slice(0, 16).replace('T', ' ');
  return `${when}, ${run.commit}${run.uncommitted ? '+' : ''}${run.date === thisRunDate ? ' (this run)' : ''}`;
}

/** A run's figure: `1.00× ✗` when its target was missed that run, `—` when it has none. */
function figureCell(figure: RecordedFigure | undefined, style: FigureStyle): string {
  if (figure?.value === null || figure?.value === undefined) return '—';
  const shown = formatFigure(figure.value, style.unit, style.digits);
  return figure.result === 'missed' ? `${shown} ✗` : shown;
}

/** `5.12–5.55×` over the runs that have the figure; the one value when only one has it. */
function spreadCell(values: readonly number[], style: FigureStyle): string {
  if (values.length === 0) return '—';
  const max = formatFigure(Math.max(...values), style.unit, style.digits);
  if (values.length === 1) return max;
  // The unit once, after the range.
  return `${Math.min(...values).toFixed(style.digits)}–${max}`;
}

/**
 * "Across runs": each figure of the Targets table in the last {@link RUNS_SHOWN} full runs
 * recorded, oldest first, and its min–max over them. `rows` are this report's Targets rows
 * (labels, units); `thisRun` its date, to mark its own column; `quick` says it is not among them.
 */
export function acrossRunsSection(
  runs: readonly RunRecord[],
  rows: readonly TargetRow[],
  thisRun: { readonly date: Date; readonly quick: boolean },
): string[] {
  const lines = ['', '## Across runs', ''];
  const shown = runs.slice(-RUNS_SHOWN);
  const quickNote = thisRun.quick ? ' This quick run is not among them: quick runs are not recorded.' : '';
  if (shown.length === 0) {
    return [
      ...lines,
      `No full run recorded yet: every full \`pnpm bench\` appends the figures of its Targets rows to \`bench/runs.json\` (the last ${RUNS_KEPT} are kept), and this section then shows the last ${RUNS_SHOWN} side by side.${quickNote}`,
    ];
  }
  lines.push(
    `The figures of the Targets rows in the last ${shown.length === 1 ? 'full run' : `${shown.length} full runs`} recorded in \`bench/runs.json\` (every full \`pnpm bench\` appends its own; the last ${RUNS_KEPT} are kept), oldest first. ` +
      "Columns: the run's date (UTC) and commit, `+` after it when apps/ or packages/ had uncommitted changes. ✗: the figure's Targets row was missed in that run. —: that run did not measure the figure (or did not have it yet). " +
      "The machine is shared, so the spread between runs of the same code includes other people's work on it (see Machine and method)." +
      (shown.length === 1 ? ' One full run so far: the spread shows from the second.' : '') +
      quickNote,
    '',
  );
  const thisRunDate = thisRun.date.toISOString();
  const withSpread = shown.length > 1;
  lines.push(
    `| figure | ${shown.map((run) => columnHeading(run, thisRunDate)).join(' | ')} |${withSpread ? ' min–max |' : ''}`,
    `|---|${shown.map(() => '---:').join('|')}|${withSpread ? '---:|' : ''}`,
  );
  for (const [id, style] of figureStyles(rows, shown)) {
    const figures = shown.map((run) => run.targets[id]);
    const values = figures.flatMap((figure) => (typeof figure?.value === 'number' ? [figure.value] : []));
    const cells = figures.map((figure) => figureCell(figure, style));
    lines.push(
      `| ${style.label} | ${cells.join(' | ')} |${withSpread ? ` ${spreadCell(values, style)} |` : ''}`,
    );
  }
  return lines;
}
