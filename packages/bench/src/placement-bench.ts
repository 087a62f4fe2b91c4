import { pathToFileURL } from 'node:url';
import { type Host, HostTable, LocalRouter, Placement, UserHasher } from '@usher/core';
import { fmt, opsPerSec, userHashes } from './measure.js';

/** The obvious implementation: an array of {point, host} objects, binary searched. */
class NaiveRing {
  private readonly entries: Array<{ point: number; host: Host }>;
  constructor(placement: Placement, tag: string) {
    const ring = placement.ring(tag);
    this.entries = [];
    for (let h = 1; h < 2 ** 32; h += 2 ** 32 / (ring.size * 4)) {
      // rebuild from lookups so both answer identically without reaching into the typed arrays
      this.entries.push({ point: Math.floor(h), host: ring.lookup(Math.floor(h)) as Host });
    }
  }
  lookup(hash: number): Host | undefined {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as { point: number }).point < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.entries[lo === this.entries.length ? 0 : lo]?.host;
  }
}

/** A router over Map<number, object>: what one writes first. */
class NaiveRouter {
  private readonly users = new Map<number, { host: Host; ts: number; flags: number }>();
  constructor(private readonly placement: Placement) {}
  routeHash(hash: number, now: number): Host | undefined {
    const u = this.users.get(hash);
    if (u) {
      u.ts = now;
      return u.host;
    }
    const host = this.placement.lookup(hash);
    if (host) this.users.set(hash, { host, ts: now, flags: 0 });
    return host;
  }
}

export function runPlacementBench(opts: { hosts?: number; users?: number } = {}): void {
  const hostCount = opts.hosts ?? 10;
  const n = opts.users ?? 2_000_000;
  const table = new HostTable();
  for (let i = 1; i <= hostCount; i++) table.set({ ip: `10.0.${i >> 8}.${i & 255}` });
  const placement = new Placement(table);
  const ring = placement.ring('');
  const hashes = userHashes(n);
  const mask = n - 1;
  const pow2 = (n & mask) === 0;
  const pick = (i: number) => hashes[pow2 ? i & mask : i % n] as number;

  process.stdout.write(
    `\nplacement: ${hostCount} hosts x 100 vhosts (${ring.size} points), ${fmt(n)} lookups per round\n`,
  );
  const typed = opsPerSec(n, (i) => ring.lookupIndex(pick(i)) >= 0);
  const naive = new NaiveRing(placement, '');
  const naiveOps = opsPerSec(n, (i) => naive.lookup(pick(i)) !== undefined);
  process.stdout.write(
    `  vhost ring lookup      ${fmt(typed)}/s   naive object ring ${fmt(naiveOps)}/s   ratio ${(typed / naiveOps).toFixed(2)}x\n`,
  );

  const router = new LocalRouter({
    hosts: table,
    hasher: new UserHasher('%Lu'),
    clock: { now: () => 1_800_000_000_000 },
  });
  const naiveRouter = new NaiveRouter(placement);
  const users = Math.min(n, 1_000_000);
  for (let i = 0; i < users; i++) router.routeHash(hashes[i] as number, '');
  for (let i = 0; i < users; i++) naiveRouter.routeHash(hashes[i] as number, 1_800_000_000);
  const routed = opsPerSec(n, (i) => router.routeHash(hashes[i % users] as number, '').userHash);
  const naiveRouted = opsPerSec(n, (i) => naiveRouter.routeHash(hashes[i % users] as number, 1_800_000_000));
  process.stdout.write(
    `  route (directory hit, ${fmt(users)} users)  ${fmt(routed)}/s   Map<number, object> ${fmt(naiveRouted)}/s   ratio ${(routed / naiveRouted).toFixed(2)}x\n`,
  );
  const hasher = new UserHasher('%Lu');
  const names = Array.from({ length: 100_000 }, (_, i) => `user${i}@example.com`);
  const hashing = opsPerSec(200_000, (i) => hasher.hash(names[i % names.length] as string));
  process.stdout.write(`  user hash (%Lu, MD5)   ${fmt(hashing)}/s\n`);
  process.stdout.write(`  target: >= 5 M placement lookups/s on one core -> ${typed >= 5e6 ? 'met' : 'NOT met'}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runPlacementBench();
