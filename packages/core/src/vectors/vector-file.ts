import { UsherError } from '../errors/usher-error.js';

/** A placement vector file (format "dovecot-director-vectors/1"), recorded from a real director. */
export interface VectorHost {
  readonly ip: string;
  readonly vhostCount: number;
  readonly tag: string;
  readonly down: boolean;
  /** The address as it was configured, when it differs in form from `ip`. */
  readonly input?: string;
}

export interface VectorRow {
  readonly line: number;
  readonly username: string;
  readonly tag: string;
  readonly userHash: number;
  /** "" when no host serves the tag. */
  readonly backend: string;
}

export interface VectorFile {
  readonly scenario: string;
  readonly usernameHash: string;
  readonly hosts: readonly VectorHost[];
  readonly hostsHash: number | undefined;
  readonly rows: readonly VectorRow[];
  readonly declaredRows: number | undefined;
}

export class VectorFormatError extends UsherError {
  constructor(message: string, line: number) {
    super('VECTOR_FORMAT', `line ${line}: ${message}`, { line });
  }
}

export function parseVectorFile(text: string): VectorFile {
  let scenario = '';
  let usernameHash = '%Lu';
  let hostsHash: number | undefined;
  let declaredRows: number | undefined;
  const hosts: VectorHost[] = [];
  const rows: VectorRow[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const n = i + 1;
    if (line === '') return;
    const json = (s: string | undefined): unknown => {
      try {
        return JSON.parse(s ?? '');
      } catch {
        throw new VectorFormatError(`bad JSON: ${s}`, n);
      }
    };
    if (line.startsWith('#')) {
      const tab = line.indexOf('\t');
      if (tab < 0) throw new VectorFormatError('header without a TAB', n);
      const key = line.slice(1, tab);
      const value = json(line.slice(tab + 1));
      if (key === 'format' && value !== 'dovecot-director-vectors/1')
        throw new VectorFormatError(`unknown format ${String(value)}`, n);
      if (key === 'scenario') scenario = String(value);
      if (key === 'director_username_hash') usernameHash = String(value);
      if (key === 'hosts_hash') hostsHash = Number(value);
      if (key === 'rows') declaredRows = Number(value);
      if (key === 'host') {
        const h = value as { ip?: unknown; vhost_count?: unknown; tag?: unknown; state?: unknown; input?: unknown };
        if (typeof h.ip !== 'string') throw new VectorFormatError('host without ip', n);
        hosts.push({
          ip: h.ip,
          vhostCount: Number(h.vhost_count ?? 100),
          tag: typeof h.tag === 'string' ? h.tag : '',
          down: h.state === 'down',
          ...(typeof h.input === 'string' ? { input: h.input } : {}),
        });
      }
      return;
    }
    const cols = line.split('\t');
    if (cols.length < 4) throw new VectorFormatError(`expected 5 columns, got ${cols.length}`, n);
    const username = json(cols[0]);
    const tag = json(cols[1]);
    if (typeof username !== 'string' || typeof tag !== 'string')
      throw new VectorFormatError('username and tag must be strings', n);
    const userHash = Number(cols[2]);
    if (!Number.isInteger(userHash) || userHash < 0 || userHash > 0xffffffff)
      throw new VectorFormatError(`bad user_hash ${cols[2]}`, n);
    rows.push({ line: n, username, tag, userHash, backend: cols[3] ?? '' });
  });
  return { scenario, usernameHash, hosts, hostsHash, rows, declaredRows };
}
