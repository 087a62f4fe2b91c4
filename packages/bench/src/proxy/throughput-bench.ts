import { performance } from 'node:perf_hooks';
import { type Endpoint, ImapConn } from './imap-client.js';

/** A plain-text message of exactly `bytes` bytes, in 78-character CRLF lines. */
export function makeMessage(bytes: number): Buffer {
  const header = Buffer.from(
    'From: bench@example.org\r\nTo: bench@example.org\r\nSubject: usher throughput bench\r\n' +
      'Message-ID: <throughput@bench.usher>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n',
  );
  const body = Buffer.alloc(bytes - header.length, 'The quick brown fox jumps over the lazy dog. 0123456789 ');
  for (let i = 78; i + 1 < body.length; i += 80) {
    body[i] = 0x0d;
    body[i + 1] = 0x0a;
  }
  body[body.length - 2] = 0x0d;
  body[body.length - 1] = 0x0a;
  return Buffer.concat([header, body]);
}

/** APPENDs `message` to the user's INBOX and returns its UID (from APPENDUID). */
export async function appendMessage(ep: Endpoint, user: string, password: string, message: Buffer): Promise<number> {
  const conn = await ImapConn.open(ep, 120_000);
  try {
    await conn.login(user, password);
    const reply = await conn.ok('APPEND INBOX', message);
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(reply)?.[1];
    if (uid === undefined) throw new Error(`no APPENDUID in ${reply}`);
    await conn.logout();
    return Number(uid);
  } finally {
    conn.destroy();
  }
}

export interface FetchResult {
  /** Seconds of each timed FETCH, send to tagged OK. */
  seconds: number[];
  bytesPerSecond: number;
  /** CPU ms per MiB moved during the timed FETCHes, per probe (e.g. client, Dovecot, usherd). */
  cpuMsPerMiB: Record<string, number>;
}

/** Cumulative CPU ms of some process(es), read before and after the timed FETCHes. */
export type CpuProbes = Record<string, () => number>;

/**
 * One logged-in connection; one untimed FETCH to warm caches, then `times` timed `UID FETCH BODY.PEEK[]`
 * of the whole message (PEEK: the first FETCH must not differ from the rest by setting \Seen).
 */
export async function fetchLeg(
  ep: Endpoint,
  user: string,
  password: string,
  uid: number,
  size: number,
  times: number,
  probes: CpuProbes = {},
): Promise<FetchResult> {
  const conn = await ImapConn.open(ep, 120_000);
  try {
    await conn.login(user, password);
    await conn.ok('EXAMINE INBOX');
    const seconds: number[] = [];
    let cpu0: Record<string, number> = {};
    for (let i = 0; i <= times; i++) {
      if (i === 1) cpu0 = readProbes(probes);
      const before = conn.literalBytes;
      const t0 = performance.now();
      await conn.ok(`UID FETCH ${uid} BODY.PEEK[]`);
      const secs = (performance.now() - t0) / 1000;
      if (conn.literalBytes - before !== size)
        throw new Error(`FETCH returned ${conn.literalBytes - before} bytes, expected ${size}`);
      if (i > 0) seconds.push(secs);
    }
    const cpu1 = readProbes(probes);
    await conn.logout();
    const total = seconds.reduce((a, b) => a + b, 0);
    const mib = (size * times) / 2 ** 20;
    const cpuMsPerMiB = Object.fromEntries(
      Object.keys(probes).map((k) => [k, ((cpu1[k] ?? 0) - (cpu0[k] ?? 0)) / mib]),
    );
    return { seconds, bytesPerSecond: (size * times) / total, cpuMsPerMiB };
  } finally {
    conn.destroy();
  }
}

function readProbes(probes: CpuProbes): Record<string, number> {
  return Object.fromEntries(Object.entries(probes).map(([k, f]) => [k, f()]));
}
