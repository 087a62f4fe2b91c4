/**
 * ManageSieve commands (RFC 5804 §4): an atom, then atoms, quoted strings and literals. A literal
 * ({n+} or {n}) ends its line; its bytes follow the CRLF and the command goes on after them.
 * Only `SieveParseError` is thrown by the parsing itself; the byte source may throw its own errors.
 */
export type SieveToken =
  | { readonly kind: 'atom'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string };

export interface SieveCommand {
  /** Upper-cased command name. */
  readonly name: string;
  readonly args: readonly SieveToken[];
}

export class SieveParseError extends Error {
  override readonly name = 'SieveParseError';
  /**
   * The input cannot be resynchronised (a literal too large to swallow): the connection must end.
   * Otherwise the whole command was consumed and the next one can be read.
   */
  readonly fatal: boolean;
  constructor(message: string, fatal = false) {
    super(message);
    this.fatal = fatal;
  }
}

/** Where a command's bytes come from: the client's `LineReader`, or a buffer in tests. */
export interface SieveByteSource {
  readLine(): Promise<Buffer>;
  readBytes(n: number): Promise<Buffer>;
}

export interface TokenizedLine {
  readonly tokens: SieveToken[];
  /** Size of the literal that ends this line, if any; its bytes come next. */
  readonly literal: number | undefined;
}

// RFC 5804 ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
// biome-ignore lint/suspicious/noControlCharactersInRegex: CTLs are exactly what atoms exclude
const ATOM = /^[^(){ \x00-\x1f\x7f%*"\\\]]+/;
const LITERAL = /^\{(\d{1,10})(\+?)\}$/;

/**
 * Tokens of one line. `continuation`: the line follows a literal, so it is empty or starts with
 * the space before the next token.
 */
export function tokenizeSieveLine(line: string, continuation = false): TokenizedLine {
  const tokens: SieveToken[] = [];
  let i = 0;
  if (continuation && line.length > 0 && line[0] !== ' ') throw new SieveParseError('expected space after literal');
  for (;;) {
    if (continuation || tokens.length > 0) {
      if (i >= line.length) return { tokens, literal: undefined };
      if (line[i] !== ' ') throw new SieveParseError('expected space between arguments');
      i++;
    }
    continuation = false;
    if (i >= line.length) throw new SieveParseError('missing argument');
    const c = line[i];
    if (c === '"') {
      const [value, end] = quoted(line, i);
      tokens.push({ kind: 'string', value });
      i = end;
    } else if (c === '{') {
      const m = LITERAL.exec(line.slice(i));
      if (!m) throw new SieveParseError('invalid literal');
      const size = Number(m[1]);
      if (!Number.isSafeInteger(size)) throw new SieveParseError('invalid literal size', true);
      return { tokens, literal: size };
    } else {
      const m = ATOM.exec(line.slice(i));
      if (!m) throw new SieveParseError('invalid character');
      tokens.push({ kind: 'atom', value: m[0] });
      i += m[0].length;
    }
  }
}

/** A quoted string from `start` (at the opening quote): its value and the index after the closing quote. */
function quoted(line: string, start: number): [string, number] {
  let out = '';
  for (let i = start + 1; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '"') return [out, i + 1];
    if (c === '\\') {
      const next = line[i + 1];
      // RFC 5804 QUOTED-SPECIALS: only \" and \\ are escapes
      if (next !== '"' && next !== '\\') throw new SieveParseError('invalid escape in quoted string');
      out += next;
      i++;
    } else if (c === '\0') {
      throw new SieveParseError('NUL in quoted string');
    } else {
      out += c;
    }
  }
  throw new SieveParseError('unterminated quoted string');
}

/** Every token of one logical command line, literals included (read from `source` as they come). */
export async function readSieveTokens(source: SieveByteSource, opts: { maxLiteral: number }): Promise<SieveToken[]> {
  const tokens: SieveToken[] = [];
  let line = await source.readLine();
  let continuation = false;
  for (;;) {
    const { tokens: more, literal } = tokenizeSieveLine(line.toString('utf8'), continuation);
    tokens.push(...more);
    if (literal === undefined) return tokens;
    // the client sends the bytes without waiting; too many cannot be skipped safely
    if (literal > opts.maxLiteral) throw new SieveParseError('literal too large', true);
    tokens.push({ kind: 'string', value: (await source.readBytes(literal)).toString('utf8') });
    line = await source.readLine();
    continuation = true;
  }
}

export async function readSieveCommand(source: SieveByteSource, opts: { maxLiteral: number }): Promise<SieveCommand> {
  const tokens = await readSieveTokens(source, opts);
  const [first, ...args] = tokens;
  if (first === undefined || first.kind !== 'atom') throw new SieveParseError('command name expected');
  return { name: first.value.toUpperCase(), args };
}

/** A SASL response line (RFC 5804 §2.1): exactly one string, quoted or literal. */
export async function readSieveString(source: SieveByteSource, opts: { maxLiteral: number }): Promise<string> {
  const tokens = await readSieveTokens(source, opts);
  const [only, ...extra] = tokens;
  if (only === undefined || only.kind !== 'string' || extra.length > 0) throw new SieveParseError('string expected');
  return only.value;
}

/** A quoted string for our own replies; CR/LF cannot be quoted, so they become spaces. */
export function quoteSieve(text: string): string {
  return `"${text.replace(/[\r\n]/g, ' ').replace(/[\\"]/g, '\\$&')}"`;
}
