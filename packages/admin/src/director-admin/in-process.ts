import { Duplex } from 'node:stream';
import type { DirectorAdminApi } from './api.js';
import { AdminConnection, type AdminLog } from './connection.js';

const quiet: AdminLog = { info() {}, warn() {}, error() {} };

/**
 * A director-admin connection served inside this process by `api`: the returned stream behaves as
 * a socket to the node would (greeting, replies, close), so a line-speaking client (usheradm's
 * commands) runs unchanged over any DirectorAdminApi, e.g. one that calls a node over gRPC.
 */
export function connectInProcess(api: DirectorAdminApi, log: AdminLog = quiet): Duplex {
  const [client, server] = duplexPair();
  new AdminConnection(server, api, log);
  return client;
}

/** Two streams, each reading what the other writes; destroying one ends the other. */
function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const side = (other: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        other().push(chunk);
        callback();
      },
      final(callback) {
        other().push(null);
        callback();
      },
      destroy(error, callback) {
        const o = other();
        if (!o.destroyed) {
          o.push(null);
          o.destroy();
        }
        callback(error);
      },
    });
  sides.push(
    side(() => sides[1] as Duplex),
    side(() => sides[0] as Duplex),
  );
  return sides as [Duplex, Duplex];
}
