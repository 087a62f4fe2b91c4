import { describe, expect, it } from 'vitest';
import type { AdminCluster } from './admin-cluster.js';
import { BACKENDS } from './admin-cluster.js';
import { doveadm, parseStatus, type StatusRow } from './admin-helpers.js';

const [B1, B2, B3] = BACKENDS;

/** `doveadm director status` on every node. */
async function statusEverywhere(c: AdminCluster): Promise<StatusRow[][]> {
  return Promise.all(
    c.sockets.map(async (s) => {
      const r = await doveadm(s, ['status']);
      expect(r.code, r.stderr).toBe(0);
      return parseStatus(r.stdout);
    }),
  );
}

/** The host's row as every node shows it (undefined where it is missing). */
async function hostEverywhere(c: AdminCluster, ip: string): Promise<(StatusRow | undefined)[]> {
  return (await statusEverywhere(c)).map((rows) => rows.find((r) => r.ip === ip));
}

/**
 * Backend commands through Debian's doveadm against node 1; each change must be visible on nodes 2
 * and 3 as soon as doveadm returns (the OK comes only after the ring synced).
 */
export function hostCommandTests(cluster: () => AdminCluster): void {
  describe('doveadm director status / add / update / up / down / remove / dump', () => {
    it('status lists the configured backends on every node', async () => {
      for (const rows of await statusEverywhere(cluster())) {
        expect(rows.map((r) => [r.ip, r.tag, r.vhosts, r.state, r.changed])).toEqual(
          BACKENDS.map((ip) => [ip, '', 100, 'up', '-']),
        );
      }
    });

    it('remove: gone on every node at once; again: NOTFOUND (68); dump re-creates the table', async () => {
      const [n1] = cluster().sockets as [string];
      const r = await doveadm(n1, ['remove', B3]);
      expect(r).toEqual({ stdout: '', stderr: '', code: 0 });
      expect(await hostEverywhere(cluster(), B3)).toEqual([undefined, undefined, undefined]);
      const again = await doveadm(n1, ['remove', B3]);
      expect(again.code).toBe(68);
      expect(again.stderr).toBe(`Error: ${B3}: doesn't exist\n`);
      const dump = await doveadm(n1, ['dump']);
      expect(dump.code).toBe(0);
      expect(dump.stdout).toBe(
        [
          `doveadm director add -a ${n1} ${B1} 100`,
          `doveadm director add -a ${n1} ${B2} 100`,
          `doveadm director remove -a ${n1} ${B3} `,
          '',
        ].join('\n'),
      );
    });

    it('add with -t TAG and with ip@tag; a tag change is refused; update changes the vhosts', async () => {
      const [n1] = cluster().sockets as [string];
      expect(await doveadm(n1, ['add', '-t', 't1', B3, '50'])).toMatchObject({ code: 0, stderr: '' });
      for (const row of await hostEverywhere(cluster(), B3)) expect(row).toMatchObject({ tag: 't1', vhosts: 50 });
      const refused = await doveadm(n1, ['add', `${B3}@t2`]);
      expect(refused.code).toBe(75);
      expect(refused.stderr).toBe(`Error: ${B3}: host tag can't be changed\n`);
      expect(await doveadm(n1, ['update', B3, '20'])).toMatchObject({ code: 0, stderr: '' });
      for (const row of await hostEverywhere(cluster(), B3)) expect(row).toMatchObject({ tag: 't1', vhosts: 20 });
      const tooLarge = await doveadm(n1, ['update', B3, '1001']);
      expect(tooLarge).toMatchObject({ code: 75, stderr: `Error: ${B3}: vhost count too large\n` });
      expect((await doveadm(n1, ['remove', B3])).code).toBe(0);
      expect(await doveadm(n1, ['-v', 'add', `${B3}@t2`])).toMatchObject({ code: 0, stderr: `Info: ${B3}: OK\n` });
      for (const row of await hostEverywhere(cluster(), B3)) expect(row).toMatchObject({ tag: 't2', vhosts: 100 });
      expect((await doveadm(n1, ['remove', B3])).code).toBe(0);
      expect((await doveadm(n1, ['add', B3])).code).toBe(0);
      for (const row of await hostEverywhere(cluster(), B3)) expect(row).toMatchObject({ tag: '', vhosts: 100 });
      expect((await doveadm(n1, ['update', B3, '100'])).code).toBe(0);
      const numeric = await doveadm(n1, ['add', '12345']);
      expect(numeric.code).toBe(64);
    });

    it('down and up: the state and the time it changed, on every node', async () => {
      const [n1, n2] = cluster().sockets as [string, string];
      const before = Math.floor(Date.now() / 1000);
      expect(await doveadm(n1, ['-v', 'down', B2])).toMatchObject({ code: 0, stderr: `Info: ${B2}: down\n` });
      for (const row of await hostEverywhere(cluster(), B2)) {
        expect(row?.state).toBe('down');
        expect(Date.parse(`${row?.changed.replace(' ', 'T')}Z`) / 1000).toBeGreaterThanOrEqual(before - 1);
      }
      // already down: OK at once
      expect((await doveadm(n2, ['down', B2])).code).toBe(0);
      expect(await doveadm(n2, ['-v', 'up', B2])).toMatchObject({ code: 0, stderr: `Info: ${B2}: up\n` });
      for (const row of await hostEverywhere(cluster(), B2)) expect(row?.state).toBe('up');
      expect(await doveadm(n1, ['-v', 'remove', B3])).toMatchObject({ code: 0, stderr: `Info: ${B3}: removed\n` });
      const missing = await doveadm(n1, ['up', B3]);
      expect(missing).toMatchObject({ code: 68, stderr: `Error: ${B3}: doesn't exist\n` });
      expect((await doveadm(n1, ['add', B3])).code).toBe(0);
    });
  });
}
