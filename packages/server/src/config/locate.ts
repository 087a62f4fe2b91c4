/**
 * Where a setting lives in a JSON config file, so a configuration error can say
 * "usherd.json:12: director_user_expire: ..." as a compiler would. convict names the key but has
 * no idea of lines; JSON.parse has no positions at all. A small scanner records the line of every
 * key and array element; it never decides validity (JSON.parse already did).
 */
export type JsonPath = ReadonlyArray<string | number>;

/** Line (1-based) of each path in the document; for duplicate keys the last one, as JSON.parse keeps. */
export function jsonLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const ws = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') return;
      i++;
    }
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return text.slice(start + 1, i - 1);
    }
  };
  const value = (path: Array<string | number>): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      for (;;) {
        ws();
        if (text[i] !== '"') break;
        const keyLine = line;
        const key = str();
        const p = [...path, key];
        lines.set(JSON.stringify(p), keyLine);
        ws();
        if (text[i] === ':') i++;
        value(p);
        ws();
        if (text[i] !== ',') break;
        i++;
      }
      if (text[i] === '}') i++;
    } else if (c === '[') {
      i++;
      for (let n = 0; ; n++) {
        ws();
        if (text[i] === ']' || i >= text.length) break;
        const p = [...path, n];
        lines.set(JSON.stringify(p), line);
        value(p);
        ws();
        if (text[i] !== ',') break;
        i++;
      }
      if (text[i] === ']') i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i] as string)) i++;
    }
  };
  value([]);
  return lines;
}

/** "backend.ssl" -> ["backend", "ssl"]; "listeners[0].port" -> ["listeners", 0, "port"]. */
export function settingPath(setting: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of setting.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Line of the setting, or of its nearest enclosing key present in the file; undefined if absent. */
export function lineOfSetting(lines: Map<string, number>, setting: string): number | undefined {
  const path = settingPath(setting);
  for (let n = path.length; n > 0; n--) {
    const found = lines.get(JSON.stringify(path.slice(0, n)));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** 1-based line of a character offset (JSON.parse reports "at position N"). */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

export interface ErrorOrigin {
  readonly file?: string;
  readonly text?: string;
  /** Values given with --set (they win over the file, so an error in one is reported there). */
  readonly overrides?: Record<string, unknown>;
}

/** "FILE:LINE", "--set", "FILE" or "" for where a setting's value came from. */
export function whereIs(setting: string, origin: ErrorOrigin): string {
  if (origin.overrides && hasPath(origin.overrides, settingPath(setting))) return '--set';
  if (!origin.file) return '';
  const line = origin.text === undefined ? undefined : lineOfSetting(jsonLines(origin.text), setting);
  return line === undefined ? origin.file : `${origin.file}:${line}`;
}

/**
 * convict's validation message (one problem per line, "KEY: what" or "configuration param 'KEY'
 * not declared in the schema") -> one line per problem, each starting with where it is.
 */
export function locateValidationErrors(message: string, origin: ErrorOrigin): string {
  return message
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const unknown = /^configuration param '([^']+)' not declared in the schema$/.exec(l);
      if (unknown) return prefix(whereIs(unknown[1] as string, origin), `${unknown[1]}: unknown setting`);
      const m = /^([A-Za-z0-9_.[\]]+): (.*)$/.exec(l);
      if (!m) return prefix(origin.file ?? '', l);
      let setting = m[1] as string;
      // the listeners format names the element and field it rejects: point at that line
      const inner = /^(listeners\[\d+\](?:\.[a-z_]+)?)/.exec(m[2] as string);
      if (inner) setting = inner[1] as string;
      return prefix(whereIs(setting, origin), `${m[1]}: ${shortenValue(m[2] as string)}`);
    })
    .join('\n');
}

function prefix(where: string, text: string): string {
  return where ? `${where}: ${text}` : text;
}

/** convict appends the whole offending value; a listener list would bury the message. */
function shortenValue(text: string): string {
  const at = text.lastIndexOf(': value was ');
  if (at < 0 || text.length - at < 80) return text;
  return text.slice(0, at);
}

function hasPath(obj: Record<string, unknown>, path: ReadonlyArray<string | number>): boolean {
  let cur: unknown = obj;
  for (const k of path) {
    if (typeof k === 'number') return true; // an array given on the command line covers its elements
    if (cur === null || typeof cur !== 'object' || !(k in (cur as object))) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  return true;
}
