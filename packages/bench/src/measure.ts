/** Operations per second of `fn(i)` over `n` calls, best of `rounds` (the first round warms the JIT). */
export function opsPerSec(n: number, fn: (i: number) => unknown, rounds = 3): number {
  let best = 0;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (fn(i)) sink++;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, n / secs);
  }
  if (sink === -1) process.stdout.write(''); // keeps the loop from being optimised away
  return best;
}

export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(1);
}

/** Deterministic, uniform-ish 32-bit user hashes (never 0). */
export function userHashes(n: number, seed = 1): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 0 || 1;
  }
  return out;
}

/** The p-quantile (0..1) of an ascending array, nearest rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/**
 * A summary table as every bench prints it: columns from `head`'s keys, the first left-aligned and
 * the rest right-aligned, a rule under the heading.
 */
export function writeTable<R extends { readonly [K in keyof R]: string }>(
  head: R,
  rows: readonly R[],
  write: (line: string) => void,
): void {
  const all = [head, ...rows];
  const keys = Object.keys(head) as (keyof R)[];
  const width = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: R) =>
    keys
      .map((k, i) => (i === 0 ? r[k].padEnd(width[i] ?? 0) : r[k].padStart(width[i] ?? 0)))
      .join('  ')
      .trimEnd();
  write('');
  write(line(head));
  write(keys.map((_, i) => '-'.repeat(width[i] ?? 0)).join('  '));
  for (const r of rows) write(line(r));
}
