import { afterAll, beforeAll } from 'vitest';
import { type AdminCluster, startAdminCluster } from './admin-cluster.js';
import { grpcCommandTests } from './grpc-commands.js';
import { hostCommandTests } from './host-commands.js';
import { ringCommandTests } from './ring-commands.js';
import { userCommandTests } from './user-commands.js';

/**
 * Debian's real doveadm (and a poolmon-style client) against a ring of three real usherd
 * processes in front of three real Dovecot backends. One cluster for the whole file: the suites
 * run in order and each leaves the backend table as it found it.
 */
let cluster: AdminCluster | undefined;
const get = (): AdminCluster => {
  if (!cluster) throw new Error('cluster not started');
  return cluster;
};

beforeAll(async () => {
  cluster = await startAdminCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

hostCommandTests(get);
userCommandTests(get);
ringCommandTests(get);
grpcCommandTests(get);
