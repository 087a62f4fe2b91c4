import { describe, expect, it } from 'vitest';
import { measureJoin } from '../src/index.js';

describe('join efficiency', () => {
  it('an empty node receives a large ring as a few big state chunks; reconnecting it costs (almost) nothing', async () => {
    const r = await measureJoin({ users: Number(process.env.RING_JOIN_USERS ?? 250_000), nodes: 4 });
    const USERS = r.users;
    console.log(`join of ${USERS} users:`, JSON.stringify(r));
    // everything arrives, at most twice (both neighbours may answer before the first transfer lands)
    expect(r.join.usersReceived).toBeGreaterThanOrEqual(USERS);
    expect(r.join.usersReceived).toBeLessThanOrEqual(2 * USERS);
    expect(r.join.stateMessages).toBeLessThanOrEqual(2 * Math.ceil(USERS / 65_536) + 4);
    expect(r.reconnect.usersReceived).toBeLessThan(USERS / 1000);
  }, 60_000);
});
