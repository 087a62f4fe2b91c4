import { writeTable } from '../measure.js';

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
    writeTable(head, this.rows, write);
  }
}

export const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
export const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
export const ratio = (v: number): string => `${v.toFixed(2)}x`;
export const kib = (v: number): string => `${v.toFixed(1)} KiB`;
