/** doveadm's unixdate2str: local time as "YYYY-MM-DD HH:MM:SS". */
export function unixDate(secs: number): string {
  const d = new Date(secs * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** str_to_time: an optionally negative decimal number. */
export function parseTime(s: string): number | undefined {
  return /^-?\d+$/.test(s) ? Number(s) : undefined;
}
