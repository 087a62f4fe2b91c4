import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminLog, type DirectorAdminSocket, startDirectorAdminSocket } from '../src/index.js';
import { HELLO, talk } from './client.js';
import { FakeApi } from './fake-api.js';

const quiet: AdminLog = { info() {}, warn() {}, error() {} };
const VALID = [
  'HOST-LIST',
  'HOST-LIST-REMOVED',
  'HOST-SET\t127.0.11.5@t\t20',
  'HOST-UPDATE\t127.0.11.1\t5',
  'HOST-UP\t127.0.11.1',
  'HOST-DOWN\t127.0.11.1',
  'HOST-REMOVE\t127.0.11.2',
  'HOST-FLUSH\t127.0.11.1',
  'HOST-RESET-USERS\t\t3',
  'USER-LOOKUP\tjohn\ttag',
  'USER-LIST\t127.0.11.1',
  'USER-MOVE\tjohn\t127.0.11.1',
  'USER-KICK\tjohn\tnowait',
  'USER-KICK-ALT\tuser_x\tjohn',
  'DIRECTOR-LIST',
  'DIRECTOR-ADD\t127.0.21.4\t9090',
  'DIRECTOR-REMOVE\t127.0.21.2',
];

let dir: string;
let path: string;
let admin: DirectorAdminSocket;
const errors: unknown[] = [];
const onError = (e: unknown) => errors.push(e);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'usher-admin-fuzz-'));
  path = join(dir, 'director-admin');
  admin = await startDirectorAdminSocket({ path, api: new FakeApi(), log: quiet });
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
});

afterAll(async () => {
  process.off('uncaughtException', onError);
  process.off('unhandledRejection', onError);
  await admin.close();
});

/** Valid lines with bytes flipped, inserted or cut, plus plain noise. */
const mutatedLine = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'cut')), {
      maxLength: 4,
    }),
  )
  .map(([line, edits]) => {
    const b = [...Buffer.from(`${line}\n`)];
    for (const [pos, byte, op] of edits) {
      const at = pos % (b.length + 1);
      if (op === 'set' && at < b.length) b[at] = byte;
      else if (op === 'insert') b.splice(at, 0, byte);
      else b.splice(at, 1);
    }
    return Buffer.from(b);
  });
const session = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  fc.array(mutatedLine, { maxLength: 6 }).map((lines) => Buffer.concat([Buffer.from(HELLO), ...lines])),
  fc
    .array(
      fc.oneof(
        mutatedLine,
        fc.constantFrom(...VALID).map((l) => Buffer.from(`${l}\n`)),
      ),
      { maxLength: 8 },
    )
    .map((lines) => Buffer.concat([Buffer.from(HELLO), ...lines])),
);

describe('director-admin under random and mutated input', () => {
  it('never crashes: each connection answers or closes, and the server keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(session, fc.boolean(), async (bytes, hangUp) => {
        // a client that stays connected is left after a moment: the server would wait for more
        const r = await talk(path, bytes, { hangUp, timeoutMs: hangUp ? 2000 : 100 });
        expect(r.received.startsWith(HELLO)).toBe(true);
        const probe = await talk(path, `${HELLO}HOST-LIST-REMOVED\n`, { expectLines: 2 });
        expect(probe.received).toBe(`${HELLO}127.0.11.3\n\n`);
      }),
      { numRuns: 150 },
    );
    expect(errors).toEqual([]);
  }, 120_000);
});
