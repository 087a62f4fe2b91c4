/**
 * A reader for Dovecot 2.3 configuration text: `doveconf -n` output or a dovecot.conf. Pure: it
 * never opens a file, so `!include` lines are recorded (doveconf -n has already resolved them) and
 * `<file` values keep their path for the caller to resolve. The syntax follows Dovecot's
 * config-parser.c: `#` outside quotes starts a comment, a trailing `\` continues the line,
 * `key = value`, `type [name] {` ... `}`, quoted values lose their quotes.
 */
export interface ConfSetting {
  readonly key: string;
  /** Unquoted value; for `<file` values the path (see `fromFile`). */
  readonly value: string;
  readonly line: number;
  /** Set when the value was written `<path`: Dovecot reads the value from that file. */
  readonly fromFile?: string;
  /** doveconf -n replaced the value by "# hidden, use -P to show it" (keys, passwords). */
  readonly hidden?: boolean;
}

export interface ConfSection {
  /** "service", "inet_listener", "protocol", "passdb", ...; "" for the top level. */
  readonly type: string;
  /** "imap-login", "imaps", ...; "" when unnamed. */
  readonly name: string;
  readonly line: number;
  readonly settings: ConfSetting[];
  readonly sections: ConfSection[];
}

export interface ConfInclude {
  readonly path: string;
  /** !include_try: a missing file is not an error. */
  readonly optional: boolean;
  readonly line: number;
}

export interface ParsedConf {
  readonly root: ConfSection;
  readonly includes: ConfInclude[];
  /** "2.3.19.1" from doveconf's first comment line, if present. */
  readonly version?: string;
  readonly errors: Array<{ line: number; message: string }>;
}

export function parseDovecotConf(text: string): ParsedConf {
  const root: ConfSection = { type: '', name: '', line: 0, settings: [], sections: [] };
  const stack: ConfSection[] = [root];
  const includes: ConfInclude[] = [];
  const errors: Array<{ line: number; message: string }> = [];
  const version = /^#\s*(\d+\.\d+[.\d]*)\s/.exec(text)?.[1];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    let raw = lines[n] as string;
    while (raw.endsWith('\\') && n + 1 < lines.length) raw = `${raw.slice(0, -1)} ${lines[++n]}`;
    const { code, comment } = splitComment(raw);
    const line = code.trim();
    if (line === '') continue;
    const top = stack[stack.length - 1] as ConfSection;
    if (line.startsWith('!include')) {
      const m = /^!(include|include_try)\s+(.+)$/.exec(line);
      if (m) includes.push({ path: unquote(m[2] as string), optional: m[1] === 'include_try', line: lineNo });
      else errors.push({ line: lineNo, message: `bad include: ${line}` });
      continue;
    }
    if (line === '}') {
      if (stack.length === 1) errors.push({ line: lineNo, message: 'unexpected }' });
      else stack.pop();
      continue;
    }
    const section = /^([A-Za-z0-9_.-]+)(?:\s+(.+?))?\s*\{$/.exec(line);
    if (section) {
      const s: ConfSection = {
        type: section[1] as string,
        name: unquote(section[2] ?? ''),
        line: lineNo,
        settings: [],
        sections: [],
      };
      top.sections.push(s);
      stack.push(s);
      continue;
    }
    const kv = /^([A-Za-z0-9_./-]+)\s*=\s*(.*)$/.exec(line);
    if (kv) {
      const key = kv[1] as string;
      const rawValue = (kv[2] as string).trim();
      const hidden = rawValue === '' && /^hidden\b/.test(comment.trim());
      if (rawValue.startsWith('<')) {
        const path = rawValue.slice(1).trim();
        top.settings.push({ key, value: path, line: lineNo, fromFile: path });
      } else {
        const value = expandVariables(unquote(rawValue), root);
        top.settings.push({ key, value, line: lineNo, ...(hidden ? { hidden } : {}) });
      }
      continue;
    }
    errors.push({ line: lineNo, message: `cannot parse: ${line}` });
  }
  if (stack.length > 1) errors.push({ line: lines.length, message: `section ${stack.at(-1)?.type} is not closed` });
  return { root, includes, ...(version ? { version } : {}), errors };
}

/** The code before an unquoted `#`, and the comment after it. */
function splitComment(line: string): { code: string; comment: string } {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#') {
      return { code: line.slice(0, i), comment: line.slice(i + 1) };
    }
  }
  return { code: line, comment: '' };
}

/** A value wholly in "..." or '...' loses the quotes and its backslash escapes, as in Dovecot. */
export function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.at(-1) === v[0]) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return v;
}

/**
 * `$name` refers to a top-level setting set earlier (Debian's protocols.d files append with
 * `protocols = $protocols imap`). An unset `protocols` is empty, its 2.3 default; other unknown
 * names stay as written, so the converter can report them.
 */
function expandVariables(value: string, root: ConfSection): string {
  return value
    .replace(/\$([A-Za-z0-9_]+)/g, (whole, name: string) => {
      const earlier = settingOf(root, name);
      if (earlier) return earlier.value;
      return name === 'protocols' ? '' : whole;
    })
    .trim();
}

/** The last value of `key` directly in `section` (later lines override earlier ones, as in Dovecot). */
export function settingOf(section: ConfSection, key: string): ConfSetting | undefined {
  let found: ConfSetting | undefined;
  for (const s of section.settings) if (s.key === key) found = s;
  return found;
}

/** Sub-sections of a type (and name, if given). */
export function sectionsOf(section: ConfSection, type: string, name?: string): ConfSection[] {
  return section.sections.filter((s) => s.type === type && (name === undefined || s.name === name));
}
