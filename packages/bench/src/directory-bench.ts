/**
 * Memory and speed of the user directory against a naive Map-of-objects directory, same run, same
 * keys. Run: `node --expose-gc packages/bench/dist/directory-bench.js` (after `npx tsc -b`).
 *
 * Bytes per user are reported two ways: the typed arrays' byteLength / size (UserDirectory only), and
 * the process heapUsed + arrayBuffers delta after a forced GC (needs --expose-gc), which is the fair
 * comparison with the Map. The UserDirectory starts at its default capacity and grows, so the slack
 * after growth is included.
 */
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { UserDirectory } from '@usher/core';
import { NaiveDirectory } from './naive-directory.js';

const T0 = 1_700_000_000;
/** Rough upper bound of the naive directory's cost, to skip sizes that would not fit the heap. */
const NAIVE_BYTES_PER_USER_ESTIMATE = 160;

interface Measured {
  size: number;
  typedBytes: number | undefined;
  heapBytes: number | undefined;
  insertOps: number;
  lookupOps: number;
  refreshOps: number;
  note: string;
}

/** murmur3 fmix32: a bijection on uint32, so i+1 -> distinct, uniform, non-zero "MD5-like" hashes. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function makeHashes(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = fmix32(i + 1);
  return out;
}

const gcFn = (globalThis as { gc?: () => void }).gc;

function settledMemory(): number | undefined {
  if (gcFn === undefined) return undefined;
  gcFn();
  gcFn();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function opsPerSec(n: number, ms: number): number {
  return ms > 0 ? (n * 1000) / ms : Number.POSITIVE_INFINITY;
}

/** Spread timestamps over one user_expire window, oldest first, as a live directory would hold them. */
function stampOf(i: number, n: number): number {
  return T0 + Math.floor((i * 900) / n);
}

function measureDirectory(hashes: Uint32Array): Measured {
  const n = hashes.length;
  const before = settledMemory();
  let dir: UserDirectory | undefined = new UserDirectory();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) dir.upsert(0, hashes[i] ?? 1, i % 100, stampOf(i, n));
  const t1 = performance.now();
  let check = 0;
  for (let i = 0; i < n; i++) check += dir.hostOf(dir.lookup(0, hashes[i] ?? 1));
  const t2 = performance.now();
  const after = settledMemory();
  const size = dir.size;
  const t3 = performance.now();
  for (let i = 0; i < n; i++) dir.refresh(0, hashes[i] ?? 1, T0 + 901);
  const t4 = performance.now();
  const result: Measured = {
    size,
    typedBytes: dir.byteLength,
    heapBytes: before === undefined || after === undefined ? undefined : after - before,
    insertOps: opsPerSec(n, t1 - t0),
    lookupOps: opsPerSec(n, t2 - t1),
    refreshOps: opsPerSec(n, t4 - t3),
    note: `capacity ${dir.capacity}, load ${(size / dir.capacity).toFixed(3)}, check ${check}`,
  };
  dir = undefined;
  return result;
}

function measureNaive(hashes: Uint32Array): Measured {
  const n = hashes.length;
  const before = settledMemory();
  let dir: NaiveDirectory | undefined = new NaiveDirectory();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) dir.upsert(0, hashes[i] ?? 1, i % 100, stampOf(i, n));
  const t1 = performance.now();
  let check = 0;
  for (let i = 0; i < n; i++) check += dir.lookup(0, hashes[i] ?? 1)?.host ?? 0;
  const t2 = performance.now();
  // Memory is taken before the refresh pass: delete + set can overflow V8's Map (see below).
  const after = settledMemory();
  const size = dir.size;
  let note = `check ${check}`;
  let refreshOps = Number.NaN;
  const t3 = performance.now();
  try {
    for (let i = 0; i < n; i++) dir.refresh(0, hashes[i] ?? 1, T0 + 901);
    refreshOps = opsPerSec(n, performance.now() - t3);
  } catch (err) {
    // A Map keeps deleted entries until it rehashes, and its capacity is capped at 2^24: refreshing
    // (delete + set) more than ~8.4M users throws "Map maximum size exceeded".
    note += `; refresh failed: ${(err as Error).message}`;
  }
  const result: Measured = {
    size,
    typedBytes: undefined,
    heapBytes: before === undefined || after === undefined ? undefined : after - before,
    insertOps: opsPerSec(n, t1 - t0),
    lookupOps: opsPerSec(n, t2 - t1),
    refreshOps,
    note,
  };
  dir = undefined;
  return result;
}

const fmtInt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmtBytes = (bytes: number | undefined, size: number): string =>
  bytes === undefined ? 'n/a' : (bytes / size).toFixed(1);
const fmtRatio = (a: number | undefined, b: number | undefined): string => {
  const r = a === undefined || b === undefined || b === 0 ? Number.NaN : a / b;
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
};

function printRow(name: string, m: Measured): void {
  console.log(
    [
      name.padEnd(15),
      fmtBytes(m.typedBytes, m.size).padStart(12),
      fmtBytes(m.heapBytes, m.size).padStart(12),
      fmtInt(m.insertOps).padStart(13),
      fmtInt(m.lookupOps).padStart(13),
      fmtInt(m.refreshOps).padStart(13),
      `  ${m.note}`,
    ].join(''),
  );
}

export async function runDirectoryBench(opts: { sizes: number[] }): Promise<void> {
  const heapLimit = getHeapStatistics().heap_size_limit;
  console.log(`user directory bench: node ${process.version}, heap limit ${fmtInt(heapLimit / 2 ** 20)} MiB`);
  if (gcFn === undefined) console.log('(no global.gc: run node with --expose-gc for the heap-delta column)');
  for (const n of opts.sizes) {
    const hashes = makeHashes(n);
    console.log(`\n${fmtInt(n)} users`);
    console.log(
      `${'impl'.padEnd(15)}${'B/user typed'.padStart(12)}${'B/user heap'.padStart(12)}` +
        `${'insert/s'.padStart(13)}${'lookup/s'.padStart(13)}${'refresh/s'.padStart(13)}`,
    );
    const ours = measureDirectory(hashes);
    printRow('UserDirectory', ours);
    const naiveNeed = n * NAIVE_BYTES_PER_USER_ESTIMATE;
    if (naiveNeed > heapLimit * 0.75) {
      console.log(
        `${'naive Map'.padEnd(15)}  skipped: needs ~${fmtInt(naiveNeed / 2 ** 20)} MiB of a ` +
          `${fmtInt(heapLimit / 2 ** 20)} MiB heap (raise --max-old-space-size); compare with a smaller size above`,
      );
      continue;
    }
    const naive = measureNaive(hashes);
    printRow('naive Map', naive);
    console.log(
      `${'naive / ours'.padEnd(15)}${''.padStart(12)}${fmtRatio(naive.heapBytes, ours.heapBytes).padStart(12)}` +
        `${fmtRatio(naive.insertOps, ours.insertOps).padStart(13)}${fmtRatio(naive.lookupOps, ours.lookupOps).padStart(13)}` +
        `${fmtRatio(naive.refreshOps, ours.refreshOps).padStart(13)}`,
    );
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  await runDirectoryBench({ sizes: [1_000_000, 10_000_000] });
}
