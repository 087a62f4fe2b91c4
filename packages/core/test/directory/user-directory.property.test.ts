import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserDirectory } from '../../src/directory/user-directory.js';

/**
 * Model: a Map keyed by "tag:hash". Order is (timestamp, seq), where seq is bumped whenever the
 * directory (re)places the user in its list: on insert, and when its timestamp is raised.
 */
interface ModelUser {
  tag: number;
  hash: number;
  host: number;
  ts: number;
  flags: number;
  seq: number;
}

class Model {
  readonly users = new Map<string, ModelUser>();
  private seq = 0;
  constructor(readonly expireSecs: number) {}

  upsert(tag: number, hash: number, host: number, ts: number, flags: number | undefined): void {
    const u = this.users.get(`${tag}:${hash}`);
    if (u === undefined) {
      this.users.set(`${tag}:${hash}`, { tag, hash, host, ts, flags: flags ?? 0, seq: ++this.seq });
      return;
    }
    u.host = host;
    if (flags !== undefined) u.flags = flags;
    if (ts > u.ts) {
      u.ts = ts;
      u.seq = ++this.seq;
    }
  }

  refresh(tag: number, hash: number, now: number): boolean {
    const u = this.users.get(`${tag}:${hash}`);
    if (u === undefined) return false;
    if (now >= u.ts) {
      u.ts = now;
      u.seq = ++this.seq;
    }
    return true;
  }

  order(): ModelUser[] {
    return [...this.users.values()].sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  }

  expire(now: number, max: number): number {
    let n = 0;
    for (const u of this.order()) {
      if (n >= max || u.ts + this.expireSecs > now) break;
      this.users.delete(`${u.tag}:${u.hash}`);
      n++;
    }
    return n;
  }

  removeByHost(host: number): number {
    let n = 0;
    for (const [k, u] of this.users) {
      if (u.host === host) {
        this.users.delete(k);
        n++;
      }
    }
    return n;
  }
}

type Op =
  | { kind: 'upsert'; key: number; host: number; ts: number; flags: number | undefined }
  | { kind: 'refresh'; key: number; ts: number }
  | { kind: 'remove'; key: number }
  | { kind: 'expire'; ts: number; max: number }
  | { kind: 'setFlags'; key: number; flags: number }
  | { kind: 'removeByHost'; host: number }
  | { kind: 'flush' };

// Hashes that pile up at slot 0 or at the last slot (wrapping), plus uniform ones.
const hashArb = fc.oneof(
  fc.integer({ min: 1, max: 24 }),
  fc.integer({ min: 0xffffffe8, max: 0xffffffff }),
  fc.integer({ min: 1, max: 0xffffffff }),
);
const tagArb = fc.integer({ min: 0, max: 2 });
/** The users a run plays with: ops pick from it by index, so they hit existing users often. */
const poolArb = fc.uniqueArray(fc.tuple(tagArb, hashArb), {
  minLength: 1,
  maxLength: 40,
  selector: ([tag, hash]) => `${tag}:${hash}`,
});
const keyArb = fc.nat();
const hostArb = fc.integer({ min: 0, max: 4 });
const tsArb = fc.integer({ min: 1000, max: 1060 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('upsert' as const),
      key: keyArb,
      host: hostArb,
      ts: tsArb,
      flags: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('refresh' as const), key: keyArb, ts: tsArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('expire' as const),
      ts: fc.integer({ min: 1000, max: 1090 }),
      max: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(Number.POSITIVE_INFINITY)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('setFlags' as const),
      key: keyArb,
      flags: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeByHost' as const), host: hostArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

type Key = [tag: number, hash: number];

/** Applies op to both; returns [directory result, model result]. */
function apply(dir: UserDirectory, model: Model, pool: Key[], op: Op): [unknown, unknown] {
  const [tag, hash] = 'key' in op ? (pool[op.key % pool.length] ?? [0, 1]) : [0, 1];
  switch (op.kind) {
    case 'upsert':
      dir.upsert(tag, hash, op.host, op.ts, op.flags);
      model.upsert(tag, hash, op.host, op.ts, op.flags);
      return [null, null];
    case 'refresh':
      return [dir.refresh(tag, hash, op.ts), model.refresh(tag, hash, op.ts)];
    case 'remove':
      return [dir.remove(tag, hash), model.users.delete(`${tag}:${hash}`)];
    case 'expire':
      return [dir.expire(op.ts, op.max), model.expire(op.ts, op.max)];
    case 'setFlags': {
      const slot = dir.lookup(tag, hash);
      const u = model.users.get(`${tag}:${hash}`);
      if (slot !== -1) dir.setFlags(slot, op.flags);
      if (u !== undefined) u.flags = op.flags;
      return [slot !== -1, u !== undefined];
    }
    case 'removeByHost':
      return [dir.removeByHost(op.host), model.removeByHost(op.host)];
    case 'flush': {
      const n = model.users.size;
      model.users.clear();
      return [dir.flush(), n];
    }
  }
}

function checkSame(dir: UserDirectory, model: Model, pool: Key[]): void {
  expect(dir.size).toBe(model.users.size);
  for (const u of model.users.values()) {
    const slot = dir.lookup(u.tag, u.hash);
    expect(slot).not.toBe(-1);
    expect([dir.tagOf(slot), dir.hashOf(slot), dir.hostOf(slot), dir.timestampOf(slot), dir.flagsOf(slot)]).toEqual([
      u.tag,
      u.hash,
      u.host,
      u.ts,
      u.flags,
    ]);
  }
  for (const [tag, hash] of pool) if (!model.users.has(`${tag}:${hash}`)) expect(dir.lookup(tag, hash)).toBe(-1);
  // Every occupied slot is a distinct, findable user.
  let occupied = 0;
  for (let s = 0; s < dir.capacity; s++) {
    if (!dir.isOccupied(s)) continue;
    occupied++;
    expect(dir.lookup(dir.tagOf(s), dir.hashOf(s))).toBe(s);
  }
  expect(occupied).toBe(model.users.size);
  // Same oldest-first order (this is the expiry order).
  // Walked by hand with a step bound, so a corrupt list fails instead of looping.
  const seen: string[] = [];
  for (let s = dir.oldestSlot(); s !== -1 && seen.length <= dir.size; s = dir.newerSlot(s)) {
    seen.push(`${dir.tagOf(s)}:${dir.hashOf(s)}`);
  }
  expect(seen).toEqual(model.order().map((u) => `${u.tag}:${u.hash}`));
  const oldest = model.order()[0];
  expect(dir.nextExpiry()).toBe(oldest === undefined ? undefined : oldest.ts + model.expireSecs);
  // Per-host counts.
  const counts = new Map<number, number>();
  for (const u of model.users.values()) counts.set(u.host, (counts.get(u.host) ?? 0) + 1);
  for (let h = 0; h <= 4; h++) expect(dir.countByHost(h)).toBe(counts.get(h) ?? 0);
  expect(dir.hostIds()).toEqual([...counts.keys()].sort((a, b) => a - b));
}

describe('UserDirectory against a Map model', () => {
  it('gives the same lookups, counts, size and expiry order after any sequence of operations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 30 }),
        fc.integer({ min: 0, max: 20 }),
        poolArb,
        fc.array(opArb, { maxLength: 120 }),
        (expireSecs, initialCapacity, pool, ops) => {
          const dir = new UserDirectory({ expireSecs, initialCapacity });
          const model = new Model(expireSecs);
          for (const op of ops) {
            const [got, want] = apply(dir, model, pool, op);
            expect(got).toEqual(want);
            checkSame(dir, model, pool);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('iterate() returns each user exactly once unless removed or re-placed meanwhile, never a stale slot', () => {
    fc.assert(
      fc.property(
        poolArb,
        fc.array(tsArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(3), opArb), { maxLength: 80 }),
        (pool, stamps, steps) => {
          const dir = new UserDirectory({ expireSecs: 10 });
          const model = new Model(10);
          for (let i = 0; i < pool.length; i++) {
            const [tag, hash] = pool[i] ?? [0, 1];
            const ts = stamps[i % stamps.length] ?? 1000;
            dir.upsert(tag, hash, 1, ts);
            model.upsert(tag, hash, 1, ts, undefined);
          }
          // Users never touched while iterating must each come out exactly once.
          const untouched = new Set(model.users.keys());
          const returned = new Map<string, number>();
          const it = dir.iterate();
          const take = (): boolean => {
            const slot = it.next();
            if (slot === -1) return false;
            expect(dir.isOccupied(slot)).toBe(true);
            const key = `${dir.tagOf(slot)}:${dir.hashOf(slot)}`;
            expect(model.users.has(key)).toBe(true);
            returned.set(key, (returned.get(key) ?? 0) + 1);
            return true;
          };
          for (const [reads, op] of steps) {
            for (let r = 0; r < reads; r++) take();
            const before = new Map([...model.users].map(([k, u]) => [k, u.seq]));
            apply(dir, model, pool, op);
            for (const [k, seq] of before) if (model.users.get(k)?.seq !== seq) untouched.delete(k);
          }
          for (let guard = 0; take(); guard++) expect(guard).toBeLessThan(1000);
          it.close();
          for (const key of untouched) expect(returned.get(key)).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
