/**
 * The obvious user directory, as a yardstick for UserDirectory: one Map entry and one object per
 * user, Map insertion order as the expiry order (refresh = delete + set). It assumes timestamps
 * arrive in order (no placement of older peer timestamps), so it does less work than the real one.
 */
export interface NaiveUser {
  host: number;
  ts: number;
  flags: number;
}

export class NaiveDirectory {
  private readonly users = new Map<number, NaiveUser>();
  private readonly counts = new Map<number, number>();

  constructor(readonly expireSecs = 900) {}

  get size(): number {
    return this.users.size;
  }

  lookup(tagId: number, hash: number): NaiveUser | undefined {
    return this.users.get(tagId * 2 ** 32 + hash);
  }

  upsert(tagId: number, hash: number, host: number, ts: number, flags = 0): NaiveUser {
    const key = tagId * 2 ** 32 + hash;
    const user = this.users.get(key);
    if (user === undefined) {
      const created = { host, ts, flags };
      this.users.set(key, created);
      this.counts.set(host, (this.counts.get(host) ?? 0) + 1);
      return created;
    }
    if (user.host !== host) {
      this.counts.set(user.host, (this.counts.get(user.host) ?? 0) - 1);
      this.counts.set(host, (this.counts.get(host) ?? 0) + 1);
      user.host = host;
    }
    user.flags = flags;
    if (ts > user.ts) {
      user.ts = ts;
      this.users.delete(key);
      this.users.set(key, user);
    }
    return user;
  }

  refresh(tagId: number, hash: number, now: number): boolean {
    const key = tagId * 2 ** 32 + hash;
    const user = this.users.get(key);
    if (user === undefined) return false;
    user.ts = now;
    this.users.delete(key);
    this.users.set(key, user);
    return true;
  }

  remove(tagId: number, hash: number): boolean {
    const key = tagId * 2 ** 32 + hash;
    const user = this.users.get(key);
    if (user === undefined) return false;
    this.counts.set(user.host, (this.counts.get(user.host) ?? 0) - 1);
    return this.users.delete(key);
  }

  expire(now: number): number {
    let removed = 0;
    for (const [key, user] of this.users) {
      if (user.ts + this.expireSecs > now) break;
      this.counts.set(user.host, (this.counts.get(user.host) ?? 0) - 1);
      this.users.delete(key);
      removed++;
    }
    return removed;
  }

  countByHost(host: number): number {
    return this.counts.get(host) ?? 0;
  }
}
