import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AdminCluster, BACKENDS, hashOf, IMAP_PORT, NODES, placed } from './admin-cluster.js';
import { doveadm, ImapSession, parseStatus, waitAssigned } from './admin-helpers.js';

const DATE = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
const [N1, N2, N3] = NODES;

/** A user of the test backends that placement puts on `backend`, not used by another test. */
function userOn(c: AdminCluster, backend: string, taken: Set<string>): string {
  const user = c.backends.users.find((u) => !taken.has(u) && placed(u) === backend);
  if (!user) throw new Error(`no free user on ${backend}`);
  taken.add(user);
  return user;
}

/**
 * User commands through Debian's doveadm, with real proxied IMAP sessions: a move or a kick
 * asked on one node closes the sessions on every node, and the new assignment is what every
 * node reports when doveadm returns.
 */
export function userCommandTests(cluster: () => AdminCluster): void {
  const taken = new Set<string>();

  describe('doveadm director status USER / map / move / kick / flush', () => {
    it('status USER: current (with expiry), hashed and initial backend; n/a when unassigned', async () => {
      const c = cluster();
      const [B1] = BACKENDS;
      const user = userOn(c, B1, taken);
      const session = await ImapSession.open(N2, IMAP_PORT, user);
      expect(session.backend).toBe(B1);
      await waitAssigned(c, user, B1);
      for (const socket of c.sockets) {
        const r = await doveadm(socket, ['status', user]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(
          new RegExp(`^Current: ${B1} \\(expires ${DATE}\\)\nHashed: ${B1}\nInitial config: ${B1}\n$`),
        );
      }
      const fresh = userOn(c, BACKENDS[2], taken);
      expect((await doveadm(c.sockets[0] as string, ['status', fresh])).stdout).toBe(
        `Current: n/a (expires -1)\nHashed: ${BACKENDS[2]}\nInitial config: ${BACKENDS[2]}\n`,
      );
      // another tag: no backend serves it
      expect((await doveadm(c.sockets[0] as string, ['status', user, 'elsewhere'])).stdout).toBe(
        'Current: n/a (expires -1)\nHashed: \nInitial config: \n',
      );
      const file = join(c.root, 'map-users.txt');
      writeFileSync(file, `${fresh}\n${user}\n`);
      const map = await doveadm(c.sockets[2] as string, ['map', '-f', file]);
      expect(map.code).toBe(0);
      const rows = map.stdout.split('\n').slice(1).filter(Boolean);
      expect(rows.find((l) => l.startsWith(`${user} `))).toMatch(
        new RegExp(`^${user} +${hashOf(user)} ${B1} +${DATE}$`),
      );
      expect(rows.some((l) => l.startsWith(fresh))).toBe(false);
      const onB2 = await doveadm(c.sockets[2] as string, ['map', '-f', file, BACKENDS[1]]);
      expect(onB2.stdout.split('\n').some((l) => l.startsWith(`${user} `))).toBe(false);
      session.close();
    });

    it('move: the session is kicked, every node sends the user to the new backend', async () => {
      const c = cluster();
      const [B1, B2] = BACKENDS;
      const user = userOn(c, B1, taken);
      const session = await ImapSession.open(N2, IMAP_PORT, user);
      expect(session.backend).toBe(B1);
      const r = await doveadm(c.sockets[0] as string, ['-v', 'move', user, B2]);
      expect(r).toEqual({ stdout: '', stderr: `Info: User hash ${hashOf(user)} moved to ${B2}\n`, code: 0 });
      expect(await session.closedWithin(5000)).toBe(true);
      for (const socket of c.sockets) {
        expect((await doveadm(socket, ['status', user])).stdout).toMatch(new RegExp(`^Current: ${B2} `));
      }
      const again = await ImapSession.open(N3, IMAP_PORT, user);
      expect(again.backend).toBe(B2);
      // flush (HOST-RESET-USERS) moves it back where placement puts it, kicking it again
      const flush = await doveadm(c.sockets[1] as string, ['-v', 'flush', B2]);
      expect(flush).toMatchObject({ code: 0, stderr: `Info: ${B2}: flushed\n` });
      expect(await again.closedWithin(5000)).toBe(true);
      for (const socket of c.sockets) {
        expect((await doveadm(socket, ['status', user])).stdout).toMatch(new RegExp(`^Current: ${B1} `));
      }
      const back = await ImapSession.open(N1, IMAP_PORT, user);
      expect(back.backend).toBe(B1);
      back.close();
    });

    it('kick: the sessions of the user through every node are closed', async () => {
      const c = cluster();
      const user = userOn(c, BACKENDS[2], taken);
      const sessions = await Promise.all([N1, N2, N3].map((n) => ImapSession.open(n, IMAP_PORT, user)));
      const bystander = await ImapSession.open(N1, IMAP_PORT, userOn(c, BACKENDS[2], taken));
      const r = await doveadm(c.sockets[1] as string, ['-v', 'kick', user]);
      expect(r).toEqual({ stdout: '', stderr: `Info: User ${user} kicked\n`, code: 0 });
      for (const s of sessions) expect(await s.closedWithin(5000)).toBe(true);
      expect(await bystander.closedWithin(500)).toBe(false);
      // by passdb field: Usher's sessions carry none, so nothing matches; still OK as Dovecot
      expect((await doveadm(c.sockets[1] as string, ['kick', '-f', 'user_alt', user])).code).toBe(0);
      expect(await bystander.closedWithin(300)).toBe(false);
      bystander.close();
    });

    it('flush -F drops the assignments of a host without kicking; flush all and flush -F all answer OK', async () => {
      const c = cluster();
      const [, B2] = BACKENDS;
      const user = userOn(c, B2, taken);
      const session = await ImapSession.open(N3, IMAP_PORT, user);
      await waitAssigned(c, user, B2);
      const n1 = c.sockets[0] as string;
      expect((await doveadm(n1, ['down', B2])).code).toBe(0);
      const r = await doveadm(n1, ['-v', 'flush', '-F', B2]);
      expect(r).toMatchObject({ code: 0, stderr: `Info: ${B2}: flushed\n` });
      expect(await session.closedWithin(1000)).toBe(false);
      for (const socket of c.sockets) {
        const row = parseStatus((await doveadm(socket, ['status'])).stdout).find((h) => h.ip === B2);
        expect(row?.users).toBe(0);
        expect((await doveadm(socket, ['status', user])).stdout).not.toMatch(new RegExp(`^Current: ${B2} `));
      }
      expect((await doveadm(n1, ['up', B2])).code).toBe(0);
      session.close();
      expect(await doveadm(n1, ['-v', 'flush', 'all'])).toMatchObject({ code: 0, stderr: 'Info: flushed\n' });
      expect(await doveadm(n1, ['flush', '--max-parallel', '2', 'all'])).toMatchObject({ code: 0, stderr: '' });
      expect(await doveadm(n1, ['flush', '-F', 'all'])).toMatchObject({ code: 0, stderr: '' });
    });
  });
}
