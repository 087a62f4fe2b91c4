import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type AdminCluster, BACKENDS, IMAP_PORT, NODES, placed, RING_PORT, waitRingSynced } from './admin-cluster.js';
import { adminList, doveadm, ImapSession, waitAssigned } from './admin-helpers.js';

const [N1, N2, N3] = NODES;

/** `doveadm director ring status` rows as [ip, port, type, last failed, status]. */
async function ringStatus(socket: string): Promise<string[][]> {
  const r = await doveadm(socket, ['ring', 'status']);
  expect(r.code, r.stderr).toBe(0);
  const [header, ...rows] = r.stdout.split('\n').filter(Boolean);
  expect(header).toMatch(
    /^director ip +port +type +last failed +status +ping ms +input +output +buffered +buffered peak +last read +last write *$/,
  );
  return rows.map((l) => {
    const m =
      /^(\S+) +(\d+) +(self|left|right|in|out|removed)? +(never|\d{4}-\S+ \S+) +(ring synced|ring syncing.*?|synced|syncing|connecting|failed)? +/.exec(
        l,
      );
    if (!m) throw new Error(`bad ring status row: ${JSON.stringify(l)}`);
    return [m[1], m[2], m[3] ?? '', m[4], (m[5] ?? '').trim()] as string[];
  });
}

export function ringCommandTests(cluster: () => AdminCluster): void {
  describe('doveadm director ring status / add / remove', () => {
    it('ring status: this node synced, its right and left neighbours linked', async () => {
      const rows = await ringStatus(cluster().sockets[0] as string);
      expect(rows).toEqual([
        [N1, String(RING_PORT), 'self', 'never', 'ring synced'],
        [N2, String(RING_PORT), 'right', 'never', 'synced'],
        [N3, String(RING_PORT), 'left', 'never', 'synced'],
      ]);
    });

    it('ring add / ring remove: every node learns and forgets the member; an unknown one is NOTFOUND (68)', async () => {
      const c = cluster();
      const [n1, n2, n3] = c.sockets as [string, string, string];
      // a member nobody runs: same address as node 3, another port
      expect(await doveadm(n1, ['ring', 'add', N3 as string, '9091'])).toEqual({ stdout: '', stderr: '', code: 0 });
      for (const s of [n2, n3]) {
        expect((await adminList(s, 'DIRECTOR-LIST')).some((r) => r[0] === N3 && r[1] === '9091')).toBe(true);
      }
      expect(await doveadm(n2, ['ring', 'remove', N3 as string, '9091'])).toEqual({ stdout: '', stderr: '', code: 0 });
      for (const s of c.sockets) {
        expect((await adminList(s, 'DIRECTOR-LIST')).some((r) => r[1] === '9091')).toBe(false);
      }
      const missing = await doveadm(n1, ['ring', 'remove', N3 as string, '9999']);
      expect(missing).toEqual({ stdout: '', stderr: 'Error: Not found\n', code: 68 });
      await waitRingSynced(c.sockets);
    });
  });

  describe('poolmon', () => {
    it('greets byte for byte, lists hosts with a one-letter U/D field, and a hang-up after HOST-DOWN + HOST-FLUSH still applies both ring-wide', async () => {
      const c = cluster();
      const [n1] = c.sockets as [string];
      const target = BACKENDS[0];
      const users = c.backends.users.filter((u) => placed(u) === target).slice(-3);
      const sessions = await Promise.all(users.map((u, i) => ImapSession.open(NODES[i % 3] as string, IMAP_PORT, u)));
      expect(sessions.map((s) => s.backend)).toEqual(users.map(() => target));
      for (const u of users) await waitAssigned(c, u, target);

      const greeting = await new Promise<Buffer>((resolve) => {
        const sock = connect({ path: n1 });
        sock.once('data', (b: Buffer) => {
          sock.destroy();
          resolve(b);
        });
      });
      expect(greeting.equals(Buffer.from('VERSION\tdirector-doveadm\t1\t0\n'))).toBe(true);

      const hosts = await adminList(n1, 'HOST-LIST');
      expect(hosts.map((h) => h[0])).toEqual([...BACKENDS]);
      for (const [host, weight, clients, tag, updown] of hosts) {
        expect(updown).toMatch(/^[UD]$/);
        expect(Number(weight)).toBeGreaterThan(0);
        expect(Number(clients)).toBeGreaterThanOrEqual(0);
        expect(tag).toBe('');
        expect(host).toMatch(/^127\.0\.11\.\d$/);
      }
      expect(Number(hosts[0]?.[2])).toBeGreaterThanOrEqual(users.length);

      // poolmon's "host failed" path: one write, then close without reading anything
      await new Promise<void>((resolve) => {
        const sock = connect({ path: n1 });
        sock.once('data', () => {
          sock.end(`VERSION\tdirector-doveadm\t1\t0\nHOST-DOWN\t${target}\nHOST-FLUSH\t${target}\n`, () => {
            sock.destroy();
            resolve();
          });
        });
      });
      for (const s of c.sockets) {
        await expect
          .poll(async () => (await adminList(s, 'HOST-LIST')).find((h) => h[0] === target)?.slice(2, 5), {
            timeout: 10_000,
            interval: 100,
          })
          .toEqual(['0', '', 'D']);
      }
      // HOST-FLUSH never kicks: the sessions stay up (the unsafe part poolmon accepts)
      for (const s of sessions) expect(await s.closedWithin(200)).toBe(false);
      for (const s of sessions) s.close();
      expect((await doveadm(n1, ['up', target])).code).toBe(0);
    });
  });
}
