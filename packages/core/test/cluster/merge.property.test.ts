import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClusterState,
  computeDigests,
  type HostRecord,
  HostTable,
  type UserBatch,
  UserBatchBuilder,
} from '../../src/index.js';

const NOW = 1_800_000_000;
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '2001:db8::1'];
const TAGS = ['', 'x'];
// spread over the hash space, so rows land in different digest buckets
const HASHES = Array.from({ length: 24 }, (_, i) => ((i + 1) * 0x0a3d70a3) >>> 0 || 1);

type Row = { tag: string; hash: number; host: string; ts: number; epoch: number };

const rowArb: fc.Arbitrary<Row> = fc.record({
  tag: fc.constantFrom(...TAGS),
  hash: fc.constantFrom(...HASHES),
  host: fc.constantFrom(...IPS),
  ts: fc.integer({ min: NOW - 800, max: NOW }),
  epoch: fc.constantFrom(0, 0, 0, 1_000, 2_000),
});

function fresh(node = 'n:1'): ClusterState {
  const hosts = new HostTable();
  for (const ip of IPS) hosts.set({ ip });
  return new ClusterState({ node, hosts, userExpireSecs: 900 });
}

function batchOf(rows: readonly Row[]): UserBatch {
  const b = new UserBatchBuilder();
  for (const r of rows) b.add(r.tag, r.hash, r.host, r.ts, r.epoch);
  return b.build();
}

function snapshot(s: ClusterState): string[] {
  const out: string[] = [];
  s.users.directory.forEach((slot) => {
    const d = s.users.directory;
    out.push(
      `${s.users.tags.nameOf(d.tagOf(slot))}|${d.hashOf(slot)}|${s.users.hostIpOf(slot)}|${d.timestampOf(slot)}|${s.users.epochOf(slot)}`,
    );
  });
  return out.sort();
}

const exact = { now: NOW, granularitySecs: 1 };

// a byte comparison: the generic deep equality is slow on 4096-entry arrays, hundreds of runs over
function sameDigests(a: Uint32Array, b: Uint32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Batches (a split of the rows) plus an application order with duplicates. */
const scheduleArb = fc
  .array(fc.array(rowArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 })
  .chain((batches) =>
    fc.record({
      batches: fc.constant(batches),
      orderA: fc.shuffledSubarray([...batches.keys()], { minLength: batches.length, maxLength: batches.length }),
      orderB: fc.shuffledSubarray([...batches.keys()], { minLength: batches.length, maxLength: batches.length }),
      dups: fc.array(fc.nat(batches.length - 1), { maxLength: 4 }),
      regroup: fc.boolean(),
    }),
  );

describe('user merge is a join-semilattice', () => {
  it('any order, grouping and duplication of the same updates gives the same state', () => {
    fc.assert(
      fc.property(scheduleArb, ({ batches, orderA, orderB, dups, regroup }) => {
        const a = fresh('a:1');
        const b = fresh('b:1');
        for (const i of orderA) a.mergeUsers(batchOf(batches[i] ?? []), NOW);
        if (regroup) {
          // associativity: one big batch in a shuffled row order, as a state transfer would bring it
          const all = orderB.flatMap((i) => batches[i] ?? []);
          b.mergeUsers(batchOf(all), NOW);
        } else {
          for (const i of [...orderB, ...dups]) b.mergeUsers(batchOf(batches[i] ?? []), NOW);
        }
        for (const i of dups) a.mergeUsers(batchOf(batches[i] ?? []), NOW);
        expect(snapshot(b)).toEqual(snapshot(a));
        expect(sameDigests(computeDigests(b.users, exact), computeDigests(a.users, exact))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the result is the pointwise join: max epoch, lower IP among equals, max timestamp', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 30 }), (rows) => {
        const s = fresh();
        for (const r of rows) s.mergeUsers(batchOf([r]), NOW);
        const expected = new Map<string, Row>();
        for (const r of rows) {
          const k = `${r.tag}|${r.hash}`;
          const cur = expected.get(k);
          if (!cur) {
            expected.set(k, { ...r });
            continue;
          }
          const host =
            r.epoch > cur.epoch
              ? r.host
              : r.epoch < cur.epoch
                ? cur.host
                : IPS.indexOf(r.host) < IPS.indexOf(cur.host)
                  ? r.host
                  : cur.host;
          expected.set(k, { ...cur, host, epoch: Math.max(r.epoch, cur.epoch), ts: Math.max(r.ts, cur.ts) });
        }
        const want = [...expected.values()].map((r) => `${r.tag}|${r.hash}|${r.host}|${r.ts}|${r.epoch}`).sort();
        expect(snapshot(s)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});

describe('digests', () => {
  it('are equal exactly when the states are equal (small states)', () => {
    fc.assert(
      fc.property(
        fc.array(rowArb, { maxLength: 8 }),
        fc.array(rowArb, { maxLength: 8 }),
        fc.boolean(),
        (ra, rb, same) => {
          const a = fresh('a:1');
          const b = fresh('b:1');
          a.mergeUsers(batchOf(ra), NOW);
          b.mergeUsers(batchOf(same ? [...ra].reverse() : rb), NOW);
          const equalStates = JSON.stringify(snapshot(a)) === JSON.stringify(snapshot(b));
          const equalDigests = sameDigests(computeDigests(a.users, exact), computeDigests(b.users, exact));
          expect(equalDigests).toBe(equalStates);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('hosts: last writer wins converges', () => {
  const recordArb: fc.Arbitrary<HostRecord> = fc.record({
    ip: fc.constantFrom(...IPS),
    tag: fc.constantFrom('', '', 'x'),
    vhostCount: fc.integer({ min: 0, max: 200 }),
    down: fc.boolean(),
    lastUpdownChange: fc.integer({ min: 0, max: 10 }),
    hostname: fc.constantFrom('', 'mail'),
    removed: fc.boolean(),
    version: fc.record({
      ms: fc.integer({ min: 1, max: 20 }),
      counter: fc.integer({ min: 0, max: 2 }),
      node: fc.constantFrom('a:1', 'b:1', 'c:1'),
    }),
  });

  it('any order and duplication of the same records gives the same table', () => {
    fc.assert(
      fc.property(
        fc
          .array(recordArb, { minLength: 1, maxLength: 20 })
          .chain((records) =>
            fc.tuple(
              fc.constant(records),
              fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }),
              fc.array(fc.constantFrom(...records), { maxLength: 5 }),
            ),
          ),
        ([records, shuffled, dups]) => {
          const a = new ClusterState({ node: 'a:1', hosts: new HostTable() });
          const b = new ClusterState({ node: 'b:1', hosts: new HostTable() });
          for (const r of records) a.mergeHosts([r], 0);
          b.mergeHosts([...shuffled, ...dups], 0);
          const table = (s: ClusterState) =>
            s.hosts
              .list()
              .map((h) => `${h.ip.text}|${h.tag}|${h.vhostCount}|${h.down}|${h.lastUpdownChange}|${h.hostname ?? ''}`);
          expect(table(b)).toEqual(table(a));
          expect(b.hostsHash()).toBe(a.hostsHash());
          expect(b.ledger.list()).toEqual(a.ledger.list());
        },
      ),
      { numRuns: 300 },
    );
  });
});
