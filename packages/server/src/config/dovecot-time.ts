/**
 * Dovecot's time values: "15 min", "2 secs", "1h", "500 ms", or a bare number of seconds.
 * Returns milliseconds; undefined when the text is not a time.
 */
const UNITS: ReadonlyArray<[RegExp, number]> = [
  [/^(ms|msecs?|milliseconds?)$/, 1],
  [/^(s|secs?|seconds?)$/, 1000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(h|hours?)$/, 3_600_000],
  [/^(d|days?)$/, 86_400_000],
  [/^(w|weeks?)$/, 604_800_000],
];

export function parseDovecotTime(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  if (unit === '') return n * 1000;
  for (const [re, factor] of UNITS) if (re.test(unit)) return Math.round(n * factor);
  return undefined;
}

/** Dovecot's sizes: "10 M", "64k", "1 G", a bare number of bytes. */
export function parseDovecotSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+)\s*([kmgt]?)b?\s*$/i.exec(value);
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * mult;
}
