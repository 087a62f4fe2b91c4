import { describe, expect, it } from 'vitest';
import {
  DIRECTORY_MAX_LOAD,
  DirectoryConfigError,
  DirectoryRangeError,
  UserDirectory,
  UserFlags,
} from '../../src/directory/user-directory.js';
import { UsherError } from '../../src/errors/usher-error.js';

const T0 = 1_700_000_000;

/** Keys (tag:hash) oldest first. */
function order(dir: UserDirectory): string[] {
  const out: string[] = [];
  dir.forEach((slot) => {
    out.push(`${dir.tagOf(slot)}:${dir.hashOf(slot)}`);
  });
  return out;
}

/** xorshift32: uniform, deterministic "MD5-like" hashes, never 0. */
function hashes(count: number, seed = 0x9e3779b9): number[] {
  const out: number[] = [];
  let x = seed >>> 0 || 1;
  const seen = new Set<number>();
  while (out.length < count) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (!seen.has(x)) {
      seen.add(x);
      out.push(x);
    }
  }
  return out;
}

describe('UserDirectory: insert, lookup, overwrite', () => {
  it('inserts and finds a user', () => {
    const dir = new UserDirectory({});
    expect(dir.size).toBe(0);
    expect(dir.lookup(0, 1234)).toBe(-1);
    const slot = dir.upsert(0, 1234, 7, T0, UserFlags.WEAK);
    expect(dir.size).toBe(1);
    expect(dir.lookup(0, 1234)).toBe(slot);
    expect(dir.has(0, 1234)).toBe(true);
    expect(dir.hashOf(slot)).toBe(1234);
    expect(dir.tagOf(slot)).toBe(0);
    expect(dir.hostOf(slot)).toBe(7);
    expect(dir.timestampOf(slot)).toBe(T0);
    expect(dir.flagsOf(slot)).toBe(UserFlags.WEAK);
    expect(dir.expiresAt(slot)).toBe(T0 + 900);
  });

  it('overwrites the host of an existing user, keeping its slot and the newest timestamp', () => {
    const dir = new UserDirectory();
    const slot = dir.upsert(1, 0xdeadbeef, 3, T0 + 10, UserFlags.KILLING);
    expect(dir.upsert(1, 0xdeadbeef, 4, T0)).toBe(slot);
    expect(dir.size).toBe(1);
    expect(dir.hostOf(slot)).toBe(4);
    expect(dir.timestampOf(slot)).toBe(T0 + 10); // never goes back
    expect(dir.flagsOf(slot)).toBe(UserFlags.KILLING); // flags omitted: kept
    dir.upsert(1, 0xdeadbeef, 4, T0 + 20, 0);
    expect(dir.timestampOf(slot)).toBe(T0 + 20);
    expect(dir.flagsOf(slot)).toBe(0);
  });

  it('keeps the same hash under two tags as two users', () => {
    const dir = new UserDirectory();
    const a = dir.upsert(0, 42, 1, T0);
    const b = dir.upsert(5, 42, 2, T0 + 1);
    expect(a).not.toBe(b);
    expect(dir.size).toBe(2);
    expect(dir.hostOf(dir.lookup(0, 42))).toBe(1);
    expect(dir.hostOf(dir.lookup(5, 42))).toBe(2);
    expect(dir.lookup(1, 42)).toBe(-1);
    expect(dir.remove(0, 42)).toBe(true);
    expect(dir.lookup(0, 42)).toBe(-1);
    expect(dir.hostOf(dir.lookup(5, 42))).toBe(2);
  });

  it('setFlags and setHost change one user in place', () => {
    const dir = new UserDirectory();
    const slot = dir.upsert(0, 9, 1, T0);
    dir.setFlags(slot, UserFlags.WEAK | UserFlags.KILLING | 0x80);
    expect(dir.flagsOf(slot)).toBe(0x83);
    dir.setHost(slot, 2);
    expect(dir.hostOf(slot)).toBe(2);
    expect(dir.countByHost(1)).toBe(0);
    expect(dir.countByHost(2)).toBe(1);
    expect(dir.lookup(0, 9)).toBe(slot);
  });

  it('lookup of impossible keys is a miss, not an error', () => {
    const dir = new UserDirectory();
    dir.upsert(0, 1, 1, T0);
    for (const hash of [0, -1, 2 ** 32, 1.5, Number.NaN]) expect(dir.lookup(0, hash)).toBe(-1);
    expect(dir.lookup(70000, 1)).toBe(-1);
    expect(dir.remove(0, 0)).toBe(false);
    expect(dir.refresh(0, 2, T0)).toBe(false);
  });
});

describe('UserDirectory: expiry', () => {
  it('expires oldest first, exactly when timestamp + expire <= now', () => {
    const dir = new UserDirectory({ expireSecs: 60 });
    dir.upsert(0, 1, 1, T0);
    dir.upsert(0, 2, 1, T0 + 5);
    dir.upsert(0, 3, 1, T0 + 10);
    expect(dir.nextExpiry()).toBe(T0 + 60);
    const first = dir.lookup(0, 1);
    expect(dir.isExpired(first, T0 + 59)).toBe(false);
    expect(dir.isExpired(first, T0 + 60)).toBe(true);
    expect(dir.expire(T0 + 59)).toBe(0);
    expect(dir.expire(T0 + 60)).toBe(1);
    expect(dir.has(0, 1)).toBe(false);
    expect(dir.nextExpiry()).toBe(T0 + 65);
    expect(dir.expire(T0 + 70)).toBe(2);
    expect(dir.size).toBe(0);
    expect(dir.nextExpiry()).toBeUndefined();
  });

  it('expire(now, max) removes at most max users', () => {
    const dir = new UserDirectory({ expireSecs: 10 });
    for (let h = 1; h <= 10; h++) dir.upsert(0, h, 1, T0 + h);
    expect(dir.expire(T0 + 100, 3)).toBe(3);
    expect(order(dir)[0]).toBe('0:4');
    expect(dir.expire(T0 + 100)).toBe(7);
  });

  it('a refresh moves the user to the tail and postpones its expiry', () => {
    const dir = new UserDirectory({ expireSecs: 100 });
    dir.upsert(0, 1, 1, T0);
    dir.upsert(0, 2, 1, T0 + 1);
    dir.upsert(0, 3, 1, T0 + 2);
    expect(dir.refresh(0, 1, T0 + 50)).toBe(true);
    expect(order(dir)).toEqual(['0:2', '0:3', '0:1']);
    expect(dir.newestSlot()).toBe(dir.lookup(0, 1));
    expect(dir.nextExpiry()).toBe(T0 + 101);
    expect(dir.expire(T0 + 102)).toBe(2);
    expect(order(dir)).toEqual(['0:1']);
    // a refresh never moves the timestamp back
    dir.refresh(0, 1, T0);
    expect(dir.timestampOf(dir.lookup(0, 1))).toBe(T0 + 50);
  });

  it('places older timestamps from peers in order, ties after existing users', () => {
    const dir = new UserDirectory();
    dir.upsert(0, 10, 1, T0 + 10);
    dir.upsert(0, 20, 1, T0 + 20);
    dir.upsert(0, 30, 1, T0 + 30);
    dir.upsert(0, 5, 1, T0 + 5); // before everything
    dir.upsert(0, 25, 1, T0 + 25);
    dir.upsert(0, 21, 1, T0 + 20); // tie: after the existing T0+20
    dir.upsert(0, 40, 1, T0 + 40);
    dir.upsert(0, 15, 1, T0 + 15);
    expect(order(dir)).toEqual(['0:5', '0:10', '0:15', '0:20', '0:21', '0:25', '0:30', '0:40']);
  });

  it('merges a sorted handshake stream older than the local users', () => {
    const dir = new UserDirectory();
    for (let i = 0; i < 100; i++) dir.upsert(0, 1000 + i, 1, T0 + 2 * i + 1); // odd seconds
    for (let i = 0; i < 100; i++) dir.upsert(1, 5000 + i, 2, T0 + 2 * i); // even seconds, streamed in order
    let last = -1;
    let n = 0;
    dir.forEach((slot) => {
      expect(dir.timestampOf(slot)).toBeGreaterThanOrEqual(last);
      last = dir.timestampOf(slot);
      n++;
    });
    expect(n).toBe(200);
    expect(dir.hostOf(dir.oldestSlot())).toBe(2);
  });

  it('rejects user_expire below 10 seconds with a typed error', () => {
    for (const expireSecs of [9, 0, -1, 10.5, Number.NaN]) {
      let caught: unknown;
      try {
        new UserDirectory({ expireSecs });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DirectoryConfigError);
      expect(caught).toBeInstanceOf(UsherError);
      expect((caught as DirectoryConfigError).code).toBe('DIRECTORY_CONFIG');
      expect((caught as DirectoryConfigError).context).toEqual({ option: 'expireSecs', value: expireSecs });
    }
    expect(new UserDirectory({ expireSecs: 10 }).expireSecs).toBe(10);
    expect(new UserDirectory().expireSecs).toBe(900);
    expect(() => new UserDirectory({ initialCapacity: -1 })).toThrow(DirectoryConfigError);
    expect(() => new UserDirectory({ initialCapacity: 2 ** 40 })).toThrow(DirectoryConfigError);
  });

  it('rejects values that do not fit their column', () => {
    const dir = new UserDirectory();
    expect(() => dir.upsert(0, 0, 1, T0)).toThrow(DirectoryRangeError);
    expect(() => dir.upsert(0, 2 ** 32, 1, T0)).toThrow(DirectoryRangeError);
    expect(() => dir.upsert(65536, 1, 1, T0)).toThrow(DirectoryRangeError);
    expect(() => dir.upsert(0, 1, 65535, T0)).toThrow(DirectoryRangeError);
    expect(() => dir.upsert(0, 1, 1, -1)).toThrow(DirectoryRangeError);
    expect(() => dir.upsert(0, 1, 1, T0, 256)).toThrow(DirectoryRangeError);
    expect(dir.size).toBe(0);
    const slot = dir.upsert(65535, 0xffffffff, 65534, 0xffffffff, 255);
    expect(() => dir.setFlags(slot, -1)).toThrow(DirectoryRangeError);
    expect(() => dir.setHost(slot, 1.5)).toThrow(DirectoryRangeError);
    expect(dir.countByHost(65534)).toBe(1);
  });
});

describe('UserDirectory: per-host counts', () => {
  it('follow upsert to another host, remove, expire, removeByHost and flush', () => {
    const dir = new UserDirectory({ expireSecs: 10 });
    dir.upsert(0, 1, 1, T0);
    dir.upsert(0, 2, 1, T0 + 1);
    dir.upsert(0, 3, 2, T0 + 2);
    dir.upsert(1, 3, 2, T0 + 3);
    dir.upsert(0, 4, 3, T0 + 20);
    expect([dir.countByHost(1), dir.countByHost(2), dir.countByHost(3)]).toEqual([2, 2, 1]);
    expect(dir.hostIds()).toEqual([1, 2, 3]);

    dir.upsert(0, 2, 2, T0 + 5); // moved to host 2
    expect([dir.countByHost(1), dir.countByHost(2)]).toEqual([1, 3]);

    expect(dir.remove(1, 3)).toBe(true);
    expect(dir.remove(1, 3)).toBe(false);
    expect(dir.countByHost(2)).toBe(2);

    expect(dir.expire(T0 + 10)).toBe(1); // user 1 (host 1)
    expect(dir.countByHost(1)).toBe(0);
    expect(dir.hostIds()).toEqual([2, 3]);

    expect(dir.removeByHost(2)).toBe(2);
    expect(dir.removeByHost(2)).toBe(0);
    expect(dir.countByHost(2)).toBe(0);
    expect(dir.size).toBe(1);

    dir.upsert(0, 5, 1000, T0 + 20);
    expect(dir.countByHost(1000)).toBe(1);
    expect(dir.countByHost(60000)).toBe(0);
    expect(dir.flush()).toBe(2);
    expect(dir.size).toBe(0);
    expect(dir.hostIds()).toEqual([]);
    expect(dir.countByHost(3)).toBe(0);
    expect(dir.oldestSlot()).toBe(-1);
    dir.upsert(0, 5, 1, T0);
    expect(dir.countByHost(1)).toBe(1);
  });

  it('removeByHost keeps the other users of colliding, wrapping clusters', () => {
    const dir = new UserDirectory({ initialCapacity: 40 });
    const keys: [number, number][] = [];
    for (let h = 1; h <= 15; h++) keys.push([h % 3, h]); // all home at slot 0
    for (let h = 0; h < 15; h++) keys.push([h % 3, 0xffffffff - h]); // home at the last slot, wrapping
    keys.forEach(([tag, hash], i) => {
      dir.upsert(tag, hash, i % 4, T0 + i);
    });
    expect(dir.removeByHost(1)).toBe(keys.filter((_, i) => i % 4 === 1).length);
    keys.forEach(([tag, hash], i) => {
      const slot = dir.lookup(tag, hash);
      if (i % 4 === 1) expect(slot).toBe(-1);
      else expect(dir.hostOf(slot)).toBe(i % 4);
    });
    expect(order(dir).length).toBe(dir.size);
  });
});

describe('UserDirectory: table', () => {
  it('growth keeps every user, the order and the counts, within 32 bytes per user', () => {
    const dir = new UserDirectory();
    const keys = hashes(60_000);
    const startCapacity = dir.capacity;
    let worstBytes = 0;
    let worstLoad = 0;
    keys.forEach((hash, i) => {
      dir.upsert(i % 2, hash, i % 7, T0 + (i >> 4));
      worstLoad = Math.max(worstLoad, dir.size / dir.capacity);
      if (dir.size >= 2000) worstBytes = Math.max(worstBytes, dir.byteLength / dir.size);
    });
    expect(dir.capacity).toBeGreaterThan(startCapacity);
    expect(worstLoad).toBeLessThanOrEqual(DIRECTORY_MAX_LOAD);
    expect(worstBytes).toBeLessThanOrEqual(32);
    const wrong = keys.filter((hash, i) => {
      const slot = dir.lookup(i % 2, hash);
      return slot === -1 || dir.hostOf(slot) !== i % 7 || dir.timestampOf(slot) !== T0 + (i >> 4);
    });
    expect(wrong).toEqual([]);
    for (let h = 0; h < 7; h++) expect(dir.countByHost(h)).toBe(keys.filter((_, i) => i % 7 === h).length);
    const seen: number[] = [];
    dir.forEach((slot) => {
      seen.push(dir.hashOf(slot));
    });
    expect(seen).toEqual(keys);
  });

  it('initialCapacity holds that many users without growing', () => {
    const dir = new UserDirectory({ initialCapacity: 1000 });
    const cap = dir.capacity;
    for (const hash of hashes(1000)) dir.upsert(0, hash, 1, T0);
    expect(dir.capacity).toBe(cap);
  });

  it('deletion with backward shift keeps colliding and wrapping keys findable', () => {
    const dir = new UserDirectory({ initialCapacity: 30 });
    const cluster = [1, 2, 3, 4, 5, 6, 7, 8, 0xfffffff0, 0xfffffff8, 0xffffffff, 0x80000000, 0x80000001];
    cluster.forEach((hash, i) => {
      dir.upsert(0, hash, i, T0 + i);
    });
    const removed = new Set<number>();
    for (const victim of [3, 0xfffffff8, 1, 0x80000000, 0xffffffff]) {
      expect(dir.remove(0, victim)).toBe(true);
      removed.add(victim);
      for (const hash of cluster) {
        const slot = dir.lookup(0, hash);
        if (removed.has(hash)) expect(slot).toBe(-1);
        else expect(dir.hostOf(slot)).toBe(cluster.indexOf(hash));
      }
      expect(order(dir).length).toBe(dir.size);
    }
  });

  it('a backward shift that moves the oldest or newest user keeps the list ends right', () => {
    const dir = new UserDirectory();
    // hashes 1..4 all home at slot 0, so they sit in slots 0, 1, 2 in insertion order
    dir.upsert(0, 1, 1, T0 + 2);
    dir.upsert(0, 2, 1, T0); // oldest, slot 1
    dir.upsert(0, 3, 1, T0 + 5); // newest, slot 2
    dir.remove(0, 1); // shifts the oldest to slot 0 and the newest to slot 1
    expect(dir.hashOf(dir.oldestSlot())).toBe(2);
    expect(dir.hashOf(dir.newestSlot())).toBe(3);
    dir.upsert(0, 4, 1, T0 + 9);
    dir.upsert(1, 4, 1, T0 - 1);
    expect(order(dir)).toEqual(['1:4', '0:2', '0:3', '0:4']);
  });

  it('byteLength counts the typed arrays', () => {
    const dir = new UserDirectory({ initialCapacity: 100 });
    expect(dir.byteLength).toBeGreaterThanOrEqual(21 * dir.capacity);
    expect(dir.byteLength).toBeLessThan(21 * dir.capacity + 1024);
  });
});

describe('UserDirectory: iteration', () => {
  it('forEach and newerSlot walk oldest first', () => {
    const dir = new UserDirectory();
    dir.upsert(0, 3, 1, T0 + 3);
    dir.upsert(0, 1, 1, T0 + 1);
    dir.upsert(0, 2, 1, T0 + 2);
    expect(order(dir)).toEqual(['0:1', '0:2', '0:3']);
    const walked: number[] = [];
    for (let s = dir.oldestSlot(); s !== -1; s = dir.newerSlot(s)) walked.push(dir.hashOf(s));
    expect(walked).toEqual([1, 2, 3]);
  });

  it('iterate() survives removals, refreshes and growth between steps', () => {
    const dir = new UserDirectory();
    for (let h = 1; h <= 5; h++) dir.upsert(0, h, 1, T0 + h);
    const it = dir.iterate();
    expect(dir.hashOf(it.next())).toBe(1);
    dir.remove(0, 2); // the next user: skipped
    dir.refresh(0, 3, T0 + 100); // moved to the tail: seen there
    for (const hash of hashes(200)) dir.upsert(1, hash, 2, T0 + 200); // growth moves every slot
    expect(dir.hashOf(it.next())).toBe(4);
    expect(dir.hashOf(it.next())).toBe(5);
    expect(dir.hashOf(it.next())).toBe(3);
    let rest = 0;
    while (it.next() !== -1) rest++;
    expect(rest).toBe(200);
    it.close();
    expect(it.next()).toBe(-1);
    const again = dir.iterate();
    dir.flush();
    expect(again.next()).toBe(-1);
    again.close();
  });
});
