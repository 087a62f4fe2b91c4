import { UserHasher } from '../hash/user-hash.js';
import { HostTable } from '../hosts/host-table.js';
import { requireIp } from '../hosts/ip-address.js';
import { Placement } from '../placement/placement.js';
import type { VectorFile } from './vector-file.js';

export interface VectorMismatch {
  readonly line: number;
  readonly what: 'hash' | 'backend' | 'hosts_hash' | 'host_text' | 'rows' | 'error';
  readonly username?: string;
  readonly tag?: string;
  readonly expected: string;
  readonly actual: string;
}

export interface VectorReport {
  readonly scenario: string;
  readonly passed: number;
  readonly failed: number;
  readonly mismatches: readonly VectorMismatch[];
}

/**
 * Recompute a vector file from its header alone: the host table (from each host's configured
 * text where given, so address normalisation is exercised), the user hash and the backend of
 * every row, and the table's hosts_hash. Every row and every header fact counts as one check.
 */
export function checkVectorFile(file: VectorFile): VectorReport {
  const mismatches: VectorMismatch[] = [];
  let passed = 0;
  const table = new HostTable();
  for (const h of file.hosts) {
    const ip = requireIp(h.input ?? h.ip);
    if (ip.text !== h.ip) mismatches.push({ line: 0, what: 'host_text', expected: h.ip, actual: ip.text });
    else passed++;
    table.set({ ip, tag: h.tag, vhostCount: h.vhostCount, down: h.down });
  }
  const order = table
    .list()
    .map((h) => h.ip.text)
    .join(' ');
  const declaredOrder = file.hosts.map((h) => h.ip).join(' ');
  if (file.hosts.length > 0 && order !== declaredOrder) {
    mismatches.push({ line: 0, what: 'host_text', expected: declaredOrder, actual: order });
  }
  if (file.hostsHash !== undefined) {
    const actual = table.hostsHash();
    if (actual === file.hostsHash) passed++;
    else mismatches.push({ line: 0, what: 'hosts_hash', expected: String(file.hostsHash), actual: String(actual) });
  }
  if (file.declaredRows !== undefined && file.declaredRows !== file.rows.length) {
    mismatches.push({ line: 0, what: 'rows', expected: String(file.declaredRows), actual: String(file.rows.length) });
  }
  let hasher: UserHasher;
  try {
    hasher = new UserHasher(file.usernameHash);
  } catch (e) {
    mismatches.push({ line: 0, what: 'error', expected: file.usernameHash, actual: (e as Error).message });
    return { scenario: file.scenario, passed, failed: mismatches.length + file.rows.length, mismatches };
  }
  const placement = new Placement(table);
  for (const row of file.rows) {
    const hash = hasher.hash(row.username);
    // placement is checked from the recorded hash too, so one hash bug does not hide a ring bug
    const backend = placement.lookup(row.userHash, row.tag)?.ip.text ?? '';
    let ok = true;
    if (hash !== row.userHash) {
      ok = false;
      mismatches.push({
        line: row.line,
        what: 'hash',
        username: row.username,
        tag: row.tag,
        expected: String(row.userHash),
        actual: String(hash),
      });
    }
    if (backend !== row.backend) {
      ok = false;
      mismatches.push({
        line: row.line,
        what: 'backend',
        username: row.username,
        tag: row.tag,
        expected: row.backend,
        actual: backend,
      });
    }
    if (ok) passed++;
  }
  const failedRows = new Set(mismatches.map((m) => (m.line === 0 ? `h${m.what}${m.expected}` : m.line))).size;
  return { scenario: file.scenario, passed, failed: failedRows, mismatches };
}
