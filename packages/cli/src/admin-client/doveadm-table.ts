/**
 * doveadm's table printer, so usheradm prints the same bytes: column widths come from the titles
 * and the first 100 rows; a table wider than the terminal (80 columns when not a terminal) is
 * shrunk in one pass from the last column; a narrower one gives half the spare room to the
 * first "expand" column (the last column if none). Every value is left-aligned and padded, so
 * lines carry trailing spaces exactly as doveadm's do.
 */
export interface TableColumn {
  readonly title: string;
  /** Takes half the spare width (doveadm's DOVEADM_PRINT_HEADER_FLAG_EXPAND). */
  readonly expand?: boolean;
  /** No title line is printed when every column hides its title. */
  readonly hideTitle?: boolean;
}

const BUFFERED_ROWS = 100;

export function renderTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly string[])[],
  width = 80,
): string[] {
  const head = rows.slice(0, BUFFERED_ROWS);
  const min = columns.map((c) => chars(c.title));
  const max = [...min];
  const len = [...min];
  for (const row of head) {
    columns.forEach((_, i) => {
      const n = chars(row[i] ?? '');
      if (n < (min[i] as number)) min[i] = n;
      if (n > (max[i] as number)) {
        max[i] = n;
        len[i] = n;
      }
    });
  }
  let total = max.reduce((s, n) => s + n + 1, 0) - 1;
  while (total > width) {
    const before = total;
    for (let i = columns.length - 1; i >= 0; i--) {
      const diff = (len[i] as number) - (min[i] as number);
      if (total - diff <= width) {
        const cut = total - width;
        len[i] = (len[i] as number) - cut;
        total -= cut;
        break;
      }
      if (diff > 0) len[i] = (len[i] as number) - (diff === 1 ? 1 : Math.floor(diff / 2));
    }
    if (total === before) break;
  }
  if (total < width) {
    const firstExpand = columns.findIndex((c) => c.expand);
    const i = firstExpand < 0 ? columns.length - 1 : firstExpand;
    len[i] = (len[i] as number) + Math.floor((width - total) / 2);
  }
  const out: string[] = [];
  if (!columns.every((c) => c.hideTitle)) out.push(columns.map((c, i) => pad(c.title, len[i] as number)).join(' '));
  for (const row of rows) out.push(columns.map((_, i) => pad(row[i] ?? '', len[i] as number)).join(' '));
  return out;
}

/** printf("%-*s") with the width widened by the value's UTF-8 continuation bytes: pads to `n` characters. */
function pad(value: string, n: number): string {
  const missing = n - chars(value);
  return missing > 0 ? value + ' '.repeat(missing) : value;
}

function chars(s: string): number {
  return [...s].length;
}
