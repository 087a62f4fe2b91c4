import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminGrpcConfigError,
  type AdminGrpcServer,
  GrpcDirectorAdminApi,
  startAdminGrpcServer,
} from '../src/grpc/index.js';
import {
  type DirectorAdminApi,
  HostUpdateRefusedError,
  NotFoundError,
  SyncTimeoutError,
  TryAgainError,
} from '../src/index.js';
import { FakeApi } from './fake-api.js';

/**
 * The gRPC admin service is a faithful remote DirectorAdminApi: every call gives the client what
 * the node's API returned, or the same typed error; anything else is refused before the API runs.
 */
const TOKEN = 'a-token-that-is-long-enough';
const quiet = { info() {}, warn() {}, error() {} };
const api = new FakeApi();
let server: AdminGrpcServer;
let client: GrpcDirectorAdminApi;

beforeAll(async () => {
  server = await startAdminGrpcServer({ address: '127.0.34.21:0', api, token: TOKEN, log: quiet });
  client = new GrpcDirectorAdminApi({ target: server.address, token: TOKEN });
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

describe('GrpcDirectorAdminApi over startAdminGrpcServer', () => {
  it('returns what the API returns, for every read', async () => {
    const direct = new FakeApi();
    expect(await client.hostList()).toEqual(await direct.hostList());
    expect(await client.hostListRemoved()).toEqual(await direct.hostListRemoved());
    expect(await client.userList()).toEqual(await direct.userList());
    expect(await client.userList('127.0.11.2')).toEqual([]);
    expect(await client.userLookup('user@example.com', '')).toEqual(await direct.userLookup('user@example.com', ''));
    expect(await client.userLookup('someone', 'none')).toEqual(await direct.userLookup('someone', 'none'));
    expect(await client.directorList()).toEqual(await direct.directorList());
    expect(await client.hostResetUsers('127.0.11.1', 3)).toEqual({ moved: 0, failed: 0, unplaceable: 0 });
  });

  it('passes every change with its arguments, optional ones left out as on the socket', async () => {
    api.calls.length = 0;
    await client.hostSet({ ip: '127.0.11.5', tag: 'x' });
    await client.hostSet({ ip: '127.0.11.5', vhostCount: 0 });
    await client.hostUpdate({ ip: '127.0.11.1', vhostCount: 7 });
    await client.hostUp('127.0.11.1');
    await client.hostDown('127.0.11.1');
    await client.hostRemove('127.0.11.1');
    await client.hostFlush();
    await client.hostFlush('127.0.11.2');
    await client.hostResetUsers();
    await client.userMove('4294967295', '127.0.11.2');
    await client.userKick('user@example.com', true);
    await client.userKickAlt('user_alt', 'v', false);
    await client.directorAdd('127.0.21.5');
    await client.directorAdd('127.0.21.5', 9999);
    await client.directorRemove('127.0.21.2');
    expect(api.calls).toEqual([
      'hostSet 127.0.11.5 x -',
      'hostSet 127.0.11.5  0',
      'hostUpdate 127.0.11.1 7',
      'hostUp 127.0.11.1',
      'hostDown 127.0.11.1',
      'hostRemove 127.0.11.1',
      'hostFlush *',
      'hostFlush 127.0.11.2',
      'hostResetUsers * -',
      'userMove 4294967295 127.0.11.2',
      'userKick user@example.com true',
      'userKickAlt user_alt v false',
      'directorAdd 127.0.21.5 -',
      'directorAdd 127.0.21.5 9999',
      'directorRemove 127.0.21.2 -',
    ]);
  });

  it('fails with the typed error the API threw', async () => {
    await expect(client.hostUp('127.0.11.99')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.directorRemove('127.0.21.8')).rejects.toBeInstanceOf(NotFoundError);
    const failWith = async (e: Error, call: (a: DirectorAdminApi) => Promise<unknown>) => {
      api.gate = async () => {
        throw e;
      };
      try {
        return await call(client).then(
          () => undefined,
          (err: unknown) => err,
        );
      } finally {
        api.gate = async () => {};
      }
    };
    expect(await failWith(new TryAgainError('moving'), (a) => a.userKick('u', true))).toBeInstanceOf(TryAgainError);
    expect(await failWith(new SyncTimeoutError('slow'), (a) => a.hostDown('127.0.11.1'))).toBeInstanceOf(
      SyncTimeoutError,
    );
    const refused = await failWith(new HostUpdateRefusedError('HOST_TAG_CHANGE'), (a) =>
      a.hostSet({ ip: '127.0.11.1', tag: 'x' }),
    );
    expect(refused).toBeInstanceOf(HostUpdateRefusedError);
    expect((refused as HostUpdateRefusedError).reply).toBe("host tag can't be changed");
    const internal = await failWith(new Error('boom'), (a) => a.hostList());
    expect(internal).toMatchObject({ code: status.INTERNAL, details: 'boom' });
  });

  it('refuses malformed requests before the API sees them', async () => {
    api.calls.length = 0;
    await expect(client.hostUp('not-an-ip')).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(client.hostUpdate({ ip: '127.0.11.1' } as never)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(client.hostResetUsers(undefined, 0)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(client.directorAdd('127.0.21.5', 70000)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(api.calls).toEqual([]);
  });

  it('streams a large user list in batches, in order', async () => {
    const saved = api.users;
    api.users = Array.from({ length: 50_000 }, (_, i) => ({
      userHash: i + 1,
      tag: i % 2 ? 't' : '',
      ip: '127.0.11.1',
      expires: 1795927356 + i,
    }));
    try {
      expect(await client.userList()).toEqual(api.users);
    } finally {
      api.users = saved;
    }
  });

  it('refuses a caller without the token, or with a wrong one, before the API runs', async () => {
    api.calls.length = 0;
    const anonymous = new GrpcDirectorAdminApi({ target: server.address });
    const wrong = new GrpcDirectorAdminApi({ target: server.address, token: `${TOKEN}x` });
    try {
      await expect(anonymous.hostList()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await expect(wrong.hostDown('127.0.11.1')).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await expect(anonymous.userList()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    } finally {
      anonymous.close();
      wrong.close();
    }
    expect(api.calls).toEqual([]);
  });
});

describe('startAdminGrpcServer refuses an unsafe service', () => {
  it('without any way to authenticate callers', async () => {
    await expect(startAdminGrpcServer({ address: '127.0.34.21:0', api, log: quiet })).rejects.toBeInstanceOf(
      AdminGrpcConfigError,
    );
  });

  it('with a token in clear on an address that is not loopback', async () => {
    await expect(startAdminGrpcServer({ address: '0.0.0.0:0', api, token: TOKEN, log: quiet })).rejects.toThrow(
      /loopback/,
    );
  });
});
