import type {
  DirectorAdminApi,
  DirectorRow,
  HostChange,
  HostInfo,
  ResetUsersResult,
  UserEntry,
  UserLookup,
} from '../src/index.js';
import { NotFoundError } from '../src/index.js';

/** A scripted API: records every call; a test may make any call wait or fail through `gate`. */
export class FakeApi implements DirectorAdminApi {
  readonly calls: string[] = [];
  hosts: HostInfo[] = [
    { ip: '127.0.11.1', vhostCount: 100, users: 3, tag: '', down: false, lastUpdownChange: 0 },
    { ip: '127.0.11.2', vhostCount: 37, users: 1, tag: 'a\tb', down: true, lastUpdownChange: 1795926456 },
  ];
  users: UserEntry[] = [{ userHash: 3045693125, tag: '', ip: '127.0.11.1', expires: 1795927356 }];
  /** Runs before every call; may delay or throw. */
  gate: (call: string) => Promise<void> = async () => {};

  private async record(call: string): Promise<void> {
    this.calls.push(call);
    await this.gate(call);
  }

  private known(ip: string): void {
    if (!this.hosts.some((h) => h.ip === ip)) throw new NotFoundError('host not found', { ip });
  }

  async hostList(): Promise<HostInfo[]> {
    await this.record('hostList');
    return this.hosts;
  }
  async hostListRemoved(): Promise<string[]> {
    await this.record('hostListRemoved');
    return ['127.0.11.3'];
  }
  async hostSet(c: HostChange): Promise<void> {
    await this.record(`hostSet ${c.ip} ${c.tag ?? ''} ${c.vhostCount ?? '-'}`);
  }
  async hostUpdate(c: HostChange & { vhostCount: number }): Promise<void> {
    await this.record(`hostUpdate ${c.ip} ${c.vhostCount}`);
    this.known(c.ip);
  }
  async hostUp(ip: string): Promise<void> {
    await this.record(`hostUp ${ip}`);
    this.known(ip);
  }
  async hostDown(ip: string): Promise<void> {
    await this.record(`hostDown ${ip}`);
    this.known(ip);
  }
  async hostRemove(ip: string): Promise<void> {
    await this.record(`hostRemove ${ip}`);
    this.known(ip);
  }
  async hostFlush(ip?: string): Promise<void> {
    await this.record(`hostFlush ${ip ?? '*'}`);
    if (ip) this.known(ip);
  }
  async hostResetUsers(ip?: string, maxParallel?: number): Promise<ResetUsersResult> {
    await this.record(`hostResetUsers ${ip ?? '*'} ${maxParallel ?? '-'}`);
    if (ip) this.known(ip);
    return { moved: 0, failed: 0, unplaceable: 0 };
  }
  async userLookup(userOrHash: string, tag: string): Promise<UserLookup> {
    await this.record(`userLookup ${userOrHash} ${tag}`);
    const assigned = userOrHash === 'user@example.com';
    return {
      userHash: 3045693125,
      current: assigned ? { ip: '127.0.11.1', expires: 1795927356 } : undefined,
      hashedIp: '127.0.11.2',
      initialIp: tag === 'none' ? '' : '127.0.11.2',
    };
  }
  async userList(ip?: string): Promise<UserEntry[]> {
    await this.record(`userList ${ip ?? '*'}`);
    return this.users.filter((u) => ip === undefined || u.ip === ip);
  }
  async userMove(userOrHash: string, ip: string): Promise<void> {
    await this.record(`userMove ${userOrHash} ${ip}`);
    this.known(ip);
  }
  async userKick(user: string, nowait: boolean): Promise<void> {
    await this.record(`userKick ${user} ${nowait}`);
  }
  async userKickAlt(field: string, value: string, nowait: boolean): Promise<void> {
    await this.record(`userKickAlt ${field} ${value} ${nowait}`);
  }
  async directorList(): Promise<DirectorRow[]> {
    await this.record('directorList');
    return [
      { kind: 'self', ip: '127.0.21.1', port: 9090, ring: 'synced', syncLagMs: undefined, lastSyncMs: 43 },
      {
        kind: 'link',
        ip: '127.0.21.2',
        port: 9090,
        type: 'right',
        lastFailed: 0,
        state: 'synced',
        pingMs: 3,
        buffered: 0,
        lastInput: 1795926465,
      },
      { kind: 'member', ip: '127.0.21.9', port: 9090, removed: false, lastFailed: 0, state: 'idle' },
    ];
  }
  async directorAdd(ip: string, port?: number): Promise<void> {
    await this.record(`directorAdd ${ip} ${port ?? '-'}`);
  }
  async directorRemove(ip: string, port?: number): Promise<void> {
    await this.record(`directorRemove ${ip} ${port ?? '-'}`);
    if (ip !== '127.0.21.2') throw new NotFoundError('no such member', { ip });
  }
}
