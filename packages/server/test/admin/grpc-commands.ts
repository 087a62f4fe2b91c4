import { GrpcDirectorAdminApi } from '@usher/admin/grpc';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type AdminCluster } from './admin-cluster.js';
import { doveadm, parseStatus } from './admin-helpers.js';

const EXTRA = '127.0.11.7';

/** usheradm's gRPC path, on the ring the doveadm suites use; the backend table is left as found. */
export function grpcCommandTests(cluster: () => AdminCluster): void {
  describe('the gRPC admin API on a ring', () => {
    it('a change made through node 1 is on nodes 2 and 3 when the call returns', async () => {
      const c = cluster();
      const api = new GrpcDirectorAdminApi({ target: c.grpc[0] as string, token: ADMIN_TOKEN });
      const elsewhere = async () =>
        Promise.all(
          c.sockets
            .slice(1)
            .map(async (s) => parseStatus((await doveadm(s, ['status'])).stdout).find((r) => r.ip === EXTRA)),
        );
      try {
        await api.hostSet({ ip: EXTRA, tag: '', vhostCount: 7 });
        expect((await elsewhere()).map((r) => r && { vhosts: r.vhosts, state: r.state })).toEqual([
          { vhosts: 7, state: 'up' },
          { vhosts: 7, state: 'up' },
        ]);
        await api.hostDown(EXTRA);
        expect((await elsewhere()).map((r) => r?.state)).toEqual(['down', 'down']);
        expect((await api.hostList()).find((h) => h.ip === EXTRA)).toMatchObject({ down: true, vhostCount: 7 });
        await api.hostRemove(EXTRA);
        expect(await elsewhere()).toEqual([undefined, undefined]);
        const self = (await api.directorList()).find((r) => r.kind === 'self');
        expect(self).toMatchObject({ ip: '127.0.21.1', ring: 'synced' });
      } finally {
        api.close();
        await doveadm(c.sockets[0] as string, ['remove', EXTRA]);
      }
    });
  });
}
