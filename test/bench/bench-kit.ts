/** Small helpers shared by the benchmark scripts: timing loops, percentiles, tables. */
import { readFileSync } from 'node:fs';

export interface Throughput {
  operations: number;
  seconds: number;
  perSecond: number;
}

/** Runs `writers` concurrent loops of `operation` for `seconds` and counts what completed. */
export async function runFor(seconds: number, writers: number, operation: (writer: number) => Promise<number>): Promise<Throughput> {
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  let operations = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      while (Date.now() < deadline) {
        // Not `operations += await …`: that reads the total before the await and loses the
        // increments of every writer that finished in between.
        const done = await operation(writer);
        operations += done;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { operations, seconds: elapsed, perSecond: operations / elapsed };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? format(cell) : cell)))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => String(row[column]).length)));
  const line = (row: (string | number)[]) => `| ${row.map((cell, column) => String(cell).padStart(widths[column])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}

/**
 * The node arguments that run one of the apps as `npm start` / `npm run rebuild` run it: its V8
 * flags (scripts/node-flags.json), then its compiled entry point.
 */
export function appArgs(app: 'api' | 'projector' | 'cli'): string[] {
  const flags = (JSON.parse(readFileSync('scripts/node-flags.json', 'utf8')) as Record<string, string[]>)[app] ?? [];
  return [...flags, `dist/apps/${app}/src/main.js`];
}
