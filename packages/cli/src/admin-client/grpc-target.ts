import { readFileSync } from 'node:fs';
import { connectInProcess, type DirectorAdminApi, DirectorAdminError } from '@usher/admin';
import { EX_TEMPFAIL, UsageError } from '../util/exit-codes.js';
import { AdminClient, AdminClientError } from './admin-client.js';

/** A node's gRPC admin API and how to prove who we are to it (--grpc, --token-file, --ca, --cert, --key). */
export interface GrpcTarget {
  readonly address: string;
  readonly tokenFile?: string;
  /** CA of the node's admin certificate; without it the call goes in clear (the node allows that on loopback only). */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * A director-admin client whose lines are answered in this process by @usher/admin's own command
 * handlers, backed by typed gRPC calls to the node. Every usheradm command therefore prints the
 * same bytes over gRPC as over the socket. Connection and credential problems are found by a first
 * call, so they fail the command up front with exit code 75 instead of surfacing as a reply line.
 */
export async function connectGrpc(t: GrpcTarget): Promise<AdminClient> {
  if ((t.cert === undefined) !== (t.key === undefined)) throw new UsageError('--cert and --key go together');
  if (t.cert !== undefined && t.ca === undefined) throw new UsageError('--cert needs --ca');
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new AdminClientError(`cannot read ${path}: ${(e as Error).message}`, EX_TEMPFAIL);
    }
  };
  const token = t.tokenFile === undefined ? undefined : read(t.tokenFile).toString('utf8').trim();
  const { GrpcDirectorAdminApi } = await import('@usher/admin/grpc');
  let api: InstanceType<typeof GrpcDirectorAdminApi>;
  try {
    api = new GrpcDirectorAdminApi({
      target: t.address,
      ...(t.ca === undefined
        ? {}
        : {
            tls: {
              ca: read(t.ca),
              ...(t.cert === undefined ? {} : { cert: read(t.cert) }),
              ...(t.key === undefined ? {} : { key: read(t.key) }),
            },
          }),
      ...(token === undefined ? {} : { token }),
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  try {
    await api.hostList();
  } catch (e) {
    api.close();
    // grpc-js appends an empty "Resolution note: " to connection failures
    const why = (e as Error).message.replace(/\.?\s*Resolution note:\s*$/, '');
    throw new AdminClientError(`grpc ${t.address}: ${why}`, EX_TEMPFAIL);
  }
  let stream: ReturnType<typeof connectInProcess> | undefined;
  const guarded = cutOnTransportFailure(api, () => stream?.destroy());
  stream = connectInProcess(guarded);
  return AdminClient.overStream(`grpc ${t.address}`, stream, undefined, () => api.close());
}

/**
 * The API with one difference: a call that fails for a transport reason (node gone, deadline)
 * closes the in-process connection, so the command reports a disconnect as it would on a socket,
 * rather than the handlers turning it into an "Internal error" reply line.
 */
function cutOnTransportFailure(api: DirectorAdminApi, cut: () => void): DirectorAdminApi {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (e) {
          if (!(e instanceof DirectorAdminError)) cut();
          throw e;
        }
      };
    },
  });
}
