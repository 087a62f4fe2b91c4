import { describe, expect, it } from 'vitest';
import {
  BUCKET_COUNT,
  bucketOf,
  ClusterState,
  computeDigests,
  HostTable,
  UserBatchBuilder,
  userKey,
} from '../../src/index.js';

const NOW = 1_800_000_000;

function state(expire = 900): ClusterState {
  const hosts = new HostTable();
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) hosts.set({ ip });
  return new ClusterState({ node: 'n:1', hosts, userExpireSecs: expire });
}

type Row = [tag: string, hash: number, host: string, ts: number, epoch: number];

function batch(rows: Row[]) {
  const b = new UserBatchBuilder();
  for (const [tag, hash, host, ts, epoch] of rows) b.add(tag, hash, host, ts, epoch);
  return b.build();
}

function view(s: ClusterState, tag: string, hash: number) {
  const slot = s.users.liveSlot(s.users.tags.idOf(tag), hash, NOW);
  if (slot < 0) return undefined;
  return { host: s.users.hostIpOf(slot), ts: s.users.directory.timestampOf(slot), epoch: s.users.epochOf(slot) };
}

describe('user merge rules', () => {
  // [name, existing rows, incoming rows, expected view of ('', 7), conflicts]
  const cases: [string, Row[], Row[], ReturnType<typeof view>, number][] = [
    ['unknown user is added', [], [['', 7, '10.0.0.2', NOW - 5, 0]], { host: '10.0.0.2', ts: NOW - 5, epoch: 0 }, 0],
    [
      'same host only refreshes, never backwards',
      [['', 7, '10.0.0.2', NOW - 5, 0]],
      [['', 7, '10.0.0.2', NOW - 50, 0]],
      { host: '10.0.0.2', ts: NOW - 5, epoch: 0 },
      0,
    ],
    [
      'a higher epoch wins the host (a move)',
      [['', 7, '10.0.0.1', NOW - 5, 0]],
      [['', 7, '10.0.0.3', NOW - 50, 1000]],
      { host: '10.0.0.3', ts: NOW - 5, epoch: 1000 },
      0,
    ],
    [
      'a lower epoch loses the host but still refreshes',
      [['', 7, '10.0.0.3', NOW - 50, 1000]],
      [['', 7, '10.0.0.1', NOW - 5, 0]],
      { host: '10.0.0.3', ts: NOW - 5, epoch: 1000 },
      0,
    ],
    [
      'equal epochs, different hosts: the lower IP wins (incoming lower)',
      [['', 7, '10.0.0.3', NOW - 5, 0]],
      [['', 7, '10.0.0.2', NOW - 9, 0]],
      { host: '10.0.0.2', ts: NOW - 5, epoch: 0 },
      1,
    ],
    [
      'equal epochs, different hosts: the lower IP wins (local lower)',
      [['', 7, '10.0.0.1', NOW - 9, 0]],
      [['', 7, '10.0.0.2', NOW - 5, 0]],
      { host: '10.0.0.1', ts: NOW - 5, epoch: 0 },
      1,
    ],
    ['an expired row is ignored', [], [['', 7, '10.0.0.1', NOW - 900, 0]], undefined, 0],
    [
      'an expired local user counts as absent',
      [['', 7, '10.0.0.1', NOW - 900, 5000]],
      [['', 7, '10.0.0.2', NOW - 1, 0]],
      { host: '10.0.0.2', ts: NOW - 1, epoch: 0 },
      0,
    ],
    [
      'a future timestamp is capped at now',
      [],
      [['', 7, '10.0.0.1', NOW + 500, 0]],
      { host: '10.0.0.1', ts: NOW, epoch: 0 },
      0,
    ],
    ['a row for an unknown host is skipped', [], [['', 7, '10.9.9.9', NOW, 0]], undefined, 0],
  ];

  it.each(cases)('%s', (_name, existing, incoming, expected, conflicts) => {
    const s = state();
    s.mergeUsers(batch(existing), existing[0]?.[3] ?? NOW);
    const r = s.mergeUsers(batch(incoming), NOW);
    expect(view(s, '', 7)).toEqual(expected);
    expect(r.conflicts).toHaveLength(conflicts);
  });

  it('keeps tags apart: the same hash under two tags is two users', () => {
    const s = state();
    s.mergeUsers(
      batch([
        ['', 7, '10.0.0.1', NOW, 0],
        ['x', 7, '10.0.0.2', NOW, 0],
      ]),
      NOW,
    );
    expect(view(s, '', 7)?.host).toBe('10.0.0.1');
    expect(view(s, 'x', 7)?.host).toBe('10.0.0.2');
  });

  it('reports conflicts and host changes with both IPs', () => {
    const s = state();
    s.mergeUsers(batch([['', 7, '10.0.0.3', NOW, 0]]), NOW);
    const r = s.mergeUsers(batch([['', 7, '10.0.0.2', NOW, 0]]), NOW);
    expect(r.conflicts).toEqual([{ tag: '', hash: 7, winnerIp: '10.0.0.2', loserIp: '10.0.0.3', incomingWon: true }]);
    expect(r.hostChanges).toEqual([{ tag: '', hash: 7, fromIp: '10.0.0.3', toIp: '10.0.0.2', conflict: true }]);
  });

  it('collects what it learned up to a limit', () => {
    const s = state();
    const rows: Row[] = [];
    for (let h = 1; h <= 10; h++) rows.push(['', h, '10.0.0.1', NOW, 0]);
    const r = s.mergeUsers(batch(rows), NOW, 4);
    expect(r.changed).toBe(10);
    expect(r.learned?.hashes.length).toBe(4);
    expect(r.learnedOverflow).toBe(true);
    expect(s.mergeUsers(batch(rows), NOW, 4).changed).toBe(0);
  });

  it('forgets the epoch of an expired user', () => {
    const s = state(10);
    s.mergeUsers(batch([['', 7, '10.0.0.3', NOW, 99]]), NOW);
    s.users.expire(NOW + 10);
    const slot = s.users.assign(0, 7, s.hosts.get('10.0.0.1')?.id as number, NOW + 10, 0);
    expect(s.users.epochOf(slot)).toBe(0);
  });
});

describe('packing', () => {
  it('round-trips a directory through chunks, without per-user objects', () => {
    const a = state();
    const rows: Row[] = [];
    for (let h = 1; h <= 1000; h++)
      rows.push([h % 3 === 0 ? 'x' : '', h * 4_000_000, `10.0.0.${(h % 3) + 1}`, NOW - (h % 60), h % 7 === 0 ? h : 0]);
    a.mergeUsers(batch(rows), NOW);
    const chunks = a.users.packChunks(NOW, 300, () => true);
    expect(chunks.map((c) => c.hashes.length)).toEqual([300, 300, 300, 100]);
    const b = state();
    for (const c of chunks) b.mergeUsers(c, NOW);
    expect(b.digests(NOW)).toEqual(a.digests(NOW));
    expect(b.users.size).toBe(1000);
  });

  it('packs only the buckets asked for', () => {
    const a = state();
    a.mergeUsers(
      batch([
        ['', 1, '10.0.0.1', NOW, 0],
        ['', 0xffffff00, '10.0.0.1', NOW, 0],
      ]),
      NOW,
    );
    const chunks = a.users.packChunks(NOW, 100, (hash) => bucketOf(hash) === BUCKET_COUNT - 1);
    expect([...(chunks[0]?.hashes ?? [])]).toEqual([0xffffff00]);
  });

  it('packs users by key, leaving out the absent', () => {
    const a = state();
    a.mergeUsers(batch([['', 5, '10.0.0.2', NOW, 0]]), NOW);
    const b = a.users.pack([userKey(0, 5), userKey(0, 6)], NOW);
    expect([...b.hashes]).toEqual([5]);
    expect(b.hostIps).toEqual(['10.0.0.2']);
  });
});

describe('digests', () => {
  it('do not depend on local host ids, tag ids or insertion order', () => {
    const a = state();
    const hostsB = new HostTable();
    for (const ip of ['10.0.0.3', '10.0.0.2', '10.0.0.1']) hostsB.set({ ip });
    const b = new ClusterState({ node: 'n:2', hosts: hostsB });
    b.users.tags.idOf('other');
    const rows: Row[] = [
      ['x', 9, '10.0.0.1', NOW, 0],
      ['', 10, '10.0.0.3', NOW, 5],
    ];
    a.mergeUsers(batch(rows), NOW);
    b.mergeUsers(batch([...rows].reverse()), NOW);
    expect(computeDigests(a.users, { now: NOW, granularitySecs: 15 })).toEqual(b.digests(NOW));
  });

  it('ignore timestamp differences inside one granule, and see the rest', () => {
    const a = state();
    const b = state();
    a.mergeUsers(batch([['', 9, '10.0.0.1', 1_799_999_985, 0]]), NOW);
    b.mergeUsers(batch([['', 9, '10.0.0.1', 1_799_999_999, 0]]), NOW);
    const g = { now: NOW, granularitySecs: 15 };
    expect(computeDigests(a.users, g)).toEqual(computeDigests(b.users, g));
    b.mergeUsers(batch([['', 9, '10.0.0.1', NOW, 0]]), NOW);
    expect(computeDigests(a.users, g)).not.toEqual(computeDigests(b.users, g));
  });
});
