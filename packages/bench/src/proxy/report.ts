export interface Row {
  measure: string;
  usher: string;
  direct: string;
  ratio: string;
  target: string;
  verdict: string;
}

/** Collects one row per figure and prints them as a table once everything has run. */
export class Summary {
  private readonly rows: Row[] = [];

  add(row: Partial<Row> & { measure: string; usher: string }): void {
    this.rows.push({ direct: '', ratio: '', target: '', verdict: '', ...row });
  }

  print(write: (line: string) => void): void {
    const head: Row = {
      measure: 'measure',
      usher: 'usherd',
      direct: 'direct',
      ratio: 'ratio',
      target: 'target',
      verdict: '',
    };
    const all = [head, ...this.rows];
    const keys = Object.keys(head) as Array<keyof Row>;
    const width = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
    const line = (r: Row) =>
      keys
        .map((k, i) => (i === 0 ? r[k].padEnd(width[i] ?? 0) : r[k].padStart(width[i] ?? 0)))
        .join('  ')
        .trimEnd();
    write('');
    write(line(head));
    write(keys.map((_, i) => '-'.repeat(width[i] ?? 0)).join('  '));
    for (const r of this.rows) write(line(r));
  }
}

export const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
export const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
export const ratio = (v: number): string => `${v.toFixed(2)}x`;
export const kib = (v: number): string => `${v.toFixed(1)} KiB`;
