import { createHash } from 'node:crypto';
import { HashFormatError } from '../errors/usher-error.js';
import { applyHashFunction, type HashFunction, parseHashFunction } from './hash-function.js';

/**
 * Dovecot 2.3 %-expansion, reduced to what director_username_hash can use: the user variables
 * (%u %n %d and their long names), %{env:NAME}, the modifiers and the substring forms.
 * The format is compiled once; expansion works on bytes, as Dovecot does, so substrings and
 * case changes of UTF-8 names give the same bytes as the original.
 *
 * A variable or modifier we cannot reproduce exactly is a HashFormatError at compile time:
 * a login then fails temporarily instead of landing on a different backend than Dovecot's.
 */

type Variable =
  | 'user'
  | 'username'
  | 'domain'
  | 'percent'
  | { env: string }
  | { global: string }
  | { hashed: HashFunction; inner: Variable };
type Modifier = 'L' | 'U' | 'E' | 'X' | 'R' | 'M' | 'T' | 'D' | 'H' | 'N';

interface Literal {
  readonly kind: 'literal';
  readonly bytes: Buffer;
}
interface Expansion {
  readonly kind: 'var';
  readonly variable: Variable;
  readonly modifiers: readonly Modifier[];
  readonly offset: number;
  /** 0 = whole value (unless zeroPad). Negative: all but the last -width bytes. */
  readonly width: number;
  readonly zeroPad: boolean;
}
type Part = Literal | Expansion;

const PERCENT = Buffer.from('%');
const SHORT_VARS: Readonly<Record<string, Variable>> = { u: 'user', n: 'username', d: 'domain' };
const LONG_VARS: Readonly<Record<string, Variable>> = { user: 'user', username: 'username', domain: 'domain' };
/** Process-wide values Dovecot also expands; they differ per node, so they must be given explicitly. */
const GLOBAL_VARS = new Set(['hostname', 'pid', 'uid', 'gid']);
const MODIFIERS = new Set<string>(['L', 'U', 'E', 'X', 'R', 'M', 'T', 'D', 'H', 'N']);

export interface UsernameFormatOptions {
  /** Values for %{env:NAME}; an unset name expands to "" as in Dovecot. */
  readonly env?: Readonly<Record<string, string>>;
  /** Values for %{hostname}, %{pid}, ...: a format that uses one not given here is refused. */
  readonly globals?: Readonly<Record<string, string>>;
}

export class UsernameFormat {
  readonly source: string;
  private readonly parts: readonly Part[];
  private readonly env: Readonly<Record<string, string>>;
  private readonly globals: Readonly<Record<string, string>>;
  /** "%Lu" and "%u" skip the general path: they are nearly every real configuration. */
  private readonly fast: 'u' | 'Lu' | undefined;

  constructor(source: string, options: UsernameFormatOptions = {}) {
    this.source = source;
    this.parts = compile(source);
    this.env = options.env ?? {};
    for (const part of this.parts) {
      const name = part.kind === 'var' ? globalOf(part.variable) : undefined;
      if (name !== undefined && options.globals?.[name] === undefined) {
        throw new HashFormatError(
          `director_username_hash=${source}: %{${name}} differs per node and is not supported`,
          {
            format: source,
            variable: name,
          },
        );
      }
    }
    this.globals = options.globals ?? {};
    this.fast = source === '%u' ? 'u' : source === '%Lu' ? 'Lu' : undefined;
  }

  /** The bytes that get hashed for this username. */
  expand(username: string): Buffer {
    const user = Buffer.from(username, 'utf8');
    if (this.fast === 'u') return user;
    if (this.fast === 'Lu') return asciiLower(user);
    const out: Buffer[] = [];
    for (const part of this.parts) {
      out.push(part.kind === 'literal' ? part.bytes : this.expandVar(part, user));
    }
    return Buffer.concat(out);
  }

  private expandVar(part: Expansion, user: Buffer): Buffer {
    let value = this.valueOf(part.variable, user);
    let sized = false;
    for (const m of part.modifiers) {
      if (m === 'H' || m === 'N') {
        // these use the width as a modulus and the offset as a zero-padded length, and consume both
        value = numericHash(m, value, sized ? 0 : part.width, sized ? 0 : part.offset);
        sized = true;
      } else value = applyModifier(m, value);
    }
    return sized ? value : substring(value, part);
  }

  private valueOf(variable: Variable, user: Buffer): Buffer {
    if (typeof variable === 'object') {
      if ('hashed' in variable) return applyHashFunction(variable.hashed, this.valueOf(variable.inner, user));
      if ('global' in variable) return Buffer.from(this.globals[variable.global] ?? '', 'utf8');
      return Buffer.from(this.env[variable.env] ?? '', 'utf8');
    }
    if (variable === 'user') return user;
    if (variable === 'percent') return PERCENT;
    const at = user.indexOf(0x40);
    if (variable === 'username') return at < 0 ? user : user.subarray(0, at);
    return at < 0 ? Buffer.alloc(0) : user.subarray(at + 1);
  }
}

function compile(source: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  const fail = (message: string, extra: { variable?: string } = {}): never => {
    throw new HashFormatError(`director_username_hash=${source}: ${message}`, {
      format: source,
      position: i,
      ...extra,
    });
  };
  while (i < source.length) {
    const ch = source[i] as string;
    if (ch !== '%') {
      literal += ch;
      i++;
      continue;
    }
    i++;
    if (source[i] === '%') {
      literal += '%';
      i++;
      continue;
    }
    if (literal !== '') {
      parts.push({ kind: 'literal', bytes: Buffer.from(literal, 'utf8') });
      literal = '';
    }
    // [<offset>.]<width> where either number may be negative and width may start with 0 (pad)
    let sign = 1;
    if (source[i] === '-') {
      sign = -1;
      i++;
    }
    let zeroPad = source[i] === '0';
    let n = 0;
    while (i < source.length && isDigit(source[i] as string)) n = n * 10 + Number(source[i++]);
    // without a '.', the number is a width and a leading '-' has no effect (as in Dovecot 2.3)
    let offset = 0;
    let width = n;
    if (source[i] === '.') {
      i++;
      offset = sign * n;
      let wsign = 1;
      if (source[i] === '-') {
        wsign = -1;
        i++;
      }
      zeroPad = source[i] === '0';
      let w = 0;
      while (i < source.length && isDigit(source[i] as string)) w = w * 10 + Number(source[i++]);
      width = wsign * w;
    }
    const modifiers: Modifier[] = [];
    while (i < source.length) {
      const c = source[i] as string;
      if (MODIFIERS.has(c)) modifiers.push(c as Modifier);
      else break;
      i++;
    }
    let variable: Variable | undefined;
    if (i >= source.length) continue; // a trailing "%", "%L" or "%5" expands to nothing
    if (source[i] === '%') {
      // after a width or modifiers, '%' is a variable whose value is "%": "%5%" is "%", "%-1.-1%" is ""
      parts.push({ kind: 'var', variable: 'percent', modifiers, offset, width, zeroPad });
      i++;
      continue;
    }
    if (source[i] === '{') {
      const end = source.indexOf('}', i);
      if (end < 0) fail('unterminated %{');
      const name = source.slice(i + 1, end);
      const fn = parseHashFunction(name);
      if (typeof fn === 'string') fail(fn, { variable: name });
      if (fn !== undefined && typeof fn === 'object') {
        variable = {
          hashed: fn,
          inner: namedVariable(fn.field) ?? fail(`unknown variable %{${name}}`, { variable: name }),
        };
      } else {
        variable = namedVariable(name) ?? fail(`unknown variable %{${name}}`, { variable: name });
      }
      i = end + 1;
    } else {
      const key = source[i];
      if (key === undefined) fail('format ends inside a variable');
      variable = SHORT_VARS[key as string] ?? fail(`unknown variable %${key}`, { variable: key as string });
      i++;
    }
    parts.push({ kind: 'var', variable: variable as Variable, modifiers, offset, width, zeroPad });
  }
  if (literal !== '') parts.push({ kind: 'literal', bytes: Buffer.from(literal, 'utf8') });
  return parts;
}

/** The per-node global a variable reads, looking inside hash functions. */
function globalOf(v: Variable): string | undefined {
  if (typeof v !== 'object') return undefined;
  if ('global' in v) return v.global;
  if ('hashed' in v) return globalOf(v.inner);
  return undefined;
}

function namedVariable(name: string): Variable | undefined {
  if (name.startsWith('env:')) return { env: name.slice(4) };
  if (GLOBAL_VARS.has(name)) return { global: name };
  return LONG_VARS[name];
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Only ASCII letters change case, as in Dovecot's C-locale helpers. */
export function asciiLower(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && !((b[i] as number) >= 0x41 && (b[i] as number) <= 0x5a)) i++;
  if (i === b.length) return b;
  const out = Buffer.from(b);
  for (; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 0x41 && c <= 0x5a) out[i] = c + 0x20;
  }
  return out;
}

function asciiUpper(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 0x61 && c <= 0x7a) out[i] = c - 0x20;
  }
  return out;
}

function applyModifier(m: Modifier, v: Buffer): Buffer {
  switch (m) {
    case 'L':
      return asciiLower(v);
    case 'U':
      return asciiUpper(v);
    case 'R':
      return Buffer.from(v).reverse();
    case 'E': {
      // backslash before " ' and \
      const out: number[] = [];
      for (const c of v) {
        if (c === 0x22 || c === 0x27 || c === 0x5c) out.push(0x5c);
        out.push(c);
      }
      return Buffer.from(out);
    }
    case 'X': {
      // decimal number to lowercase hex; a non-number reads as 0 (strtoull semantics)
      const m10 = /^\s*\+?(\d+)/.exec(v.toString('latin1'));
      return Buffer.from((m10 ? BigInt(m10[1] as string) % 2n ** 64n : 0n).toString(16), 'latin1');
    }
    case 'M':
      return Buffer.from(md5Hex(v), 'latin1');
    case 'H':
    case 'N':
      return numericHash(m, v, 0, 0);
    case 'D':
      // LDAP DN form: "sub.domain.org" -> "sub,dc=domain,dc=org"
      return Buffer.from(v.toString('latin1').replaceAll('.', ',dc='), 'latin1');
    case 'T': {
      let end = v.length;
      while (end > 0 && isSpace(v[end - 1] as number)) end--;
      return v.subarray(0, end);
    }
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function md5Hex(v: Buffer): string {
  return createHash('md5').update(v).digest('hex');
}

/**
 * %H: the ELF-style string hash; %N: the first 8 bytes of MD5 as a big-endian integer (printed
 * through 32 bits when not reduced). Both reduce modulo the width when one is given, print lowercase
 * hex and left-pad it with '0' to the offset's length (verified against doveadm).
 */
function numericHash(m: 'H' | 'N', v: Buffer, width: number, offset: number): Buffer {
  let n: bigint;
  if (m === 'H') {
    let h = 0;
    for (const c of v) {
      h = ((h << 4) + c) >>> 0;
      const g = (h & 0xf0000000) >>> 0;
      if (g !== 0) h = (h ^ (g >>> 24) ^ g) >>> 0;
    }
    n = BigInt(h);
  } else {
    n = createHash('md5').update(v).digest().readBigUInt64BE(0);
  }
  if (width > 0) n %= BigInt(width);
  const hex = (n & 0xffffffffn).toString(16);
  return Buffer.from(offset > hex.length ? hex.padStart(offset, '0') : hex, 'latin1');
}

/** Offset first, then width: truncate, or with a zero-prefixed width left-pad with '0' and never truncate. */
function substring(value: Buffer, part: Expansion): Buffer {
  let v = value;
  let start: number;
  if (part.offset < 0) start = Math.max(0, v.length + part.offset);
  else start = Math.min(part.offset, v.length);
  v = v.subarray(start);
  if (part.zeroPad) return part.width > v.length ? Buffer.concat([Buffer.alloc(part.width - v.length, 0x30), v]) : v;
  if (part.width === 0) return v;
  if (part.width > 0) return v.subarray(0, part.width);
  return v.subarray(0, Math.max(0, v.length + part.width));
}
