/**
 * Tokenizer for one pre-auth IMAP command: tag, command name and arguments (atoms, quoted strings,
 * literals, NIL, parenthesised lists). It never touches a socket: the session feeds it lines and
 * literal bytes, so every input a client can send can be replayed against it in a unit test.
 */

export type ImapArg =
  | { readonly type: 'atom'; readonly value: string }
  | { readonly type: 'string'; readonly value: Buffer; readonly literal: boolean }
  | { readonly type: 'nil' }
  | { readonly type: 'list'; readonly items: readonly ImapArg[] };

export interface ImapCommand {
  readonly tag: string;
  /** Upper-cased. */
  readonly name: string;
  readonly args: readonly ImapArg[];
}

export type ParseStep =
  | { readonly kind: 'command'; readonly command: ImapCommand }
  /** The line ended in `{n}` / `{n+}`: feed exactly `size` bytes, then the next line. */
  | { readonly kind: 'literal'; readonly size: number; readonly synchronizing: boolean };

/** SYNTAX: answer BAD and go on. TOO_LARGE: the client wants more memory than pre-auth allows; close. */
export type ImapParseErrorCode = 'SYNTAX' | 'TOO_LARGE';

export class ImapParseError extends Error {
  readonly code: ImapParseErrorCode;
  /** The client's tag if it was read before the error, for a tagged reply. */
  readonly tag: string | undefined;

  constructor(code: ImapParseErrorCode, message: string, tag: string | undefined) {
    super(message);
    this.name = 'ImapParseError';
    this.code = code;
    this.tag = tag;
  }
}

export interface ParserLimits {
  /** Sum of all literal sizes in one command. */
  readonly maxLiteralBytes: number;
  /** Sum of all line fragments of one command. */
  readonly maxLineBytes: number;
  readonly maxLiterals?: number;
  readonly maxDepth?: number;
}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;

// atom-specials of RFC 3501 minus the list wildcards and ']' (Dovecot accepts those in atoms)
function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== LPAREN && c !== RPAREN && c !== LBRACE && c !== DQUOTE && c !== BACKSLASH;
}

// tag = 1*<ASTRING-CHAR except "+">; '*' and '%' cannot start a tag either, or replies would be untagged
function isTagChar(c: number): boolean {
  return isAtomChar(c) && c !== 0x2b && c !== 0x2a && c !== 0x25;
}

export class CommandParser {
  private readonly limits: Required<ParserLimits>;
  private tagValue: string | undefined;
  private nameValue: string | undefined;
  /** Open lists; the bottom entry is the argument list itself. */
  private readonly stack: ImapArg[][] = [[]];
  private pendingLiteral: { size: number } | undefined;
  private literalBytes = 0;
  private lineBytes = 0;
  private literals = 0;
  private finished = false;

  constructor(limits: ParserLimits) {
    this.limits = { maxLiterals: 32, maxDepth: 16, ...limits };
  }

  get tag(): string | undefined {
    return this.tagValue;
  }

  /** Feed the next line (without CRLF). The first line starts the command; later ones follow a literal. */
  feedLine(line: Buffer): ParseStep {
    if (this.finished) throw new Error('CommandParser: command already complete');
    if (this.pendingLiteral) throw new Error('CommandParser: literal data expected');
    this.lineBytes += line.length;
    if (this.lineBytes > this.limits.maxLineBytes) this.fail('TOO_LARGE', 'Command too long');
    let pos = 0;
    if (this.tagValue === undefined) pos = this.readTagAndName(line);
    else if (pos < line.length && line[pos] !== SP && line[pos] !== RPAREN)
      this.fail('SYNTAX', 'Missing space after literal');
    return this.readArgs(line, pos);
  }

  feedLiteral(data: Buffer): void {
    const want = this.pendingLiteral;
    if (!want) throw new Error('CommandParser: no literal expected');
    if (data.length !== want.size) throw new Error('CommandParser: literal size mismatch');
    this.pendingLiteral = undefined;
    this.top().push({ type: 'string', value: Buffer.from(data), literal: true });
  }

  private readTagAndName(line: Buffer): number {
    let pos = 0;
    while (pos < line.length && isTagChar(line[pos] as number)) pos++;
    if (pos === 0 || (pos < line.length && line[pos] !== SP)) this.fail('SYNTAX', 'Invalid tag');
    this.tagValue = line.toString('latin1', 0, pos);
    if (pos >= line.length) this.fail('SYNTAX', 'Missing command');
    pos++; // the one SP between tag and command name; a second one is an error, as in Dovecot
    const start = pos;
    while (pos < line.length && isAtomChar(line[pos] as number)) pos++;
    if (pos === start || (pos < line.length && line[pos] !== SP)) this.fail('SYNTAX', 'Invalid command name');
    this.nameValue = line.toString('latin1', start, pos).toUpperCase();
    return pos;
  }

  private readArgs(line: Buffer, start: number): ParseStep {
    let pos = start;
    for (;;) {
      while (pos < line.length && line[pos] === SP) pos++;
      if (pos >= line.length) return this.complete();
      const c = line[pos] as number;
      if (c === LPAREN) {
        if (this.stack.length > this.limits.maxDepth) this.fail('SYNTAX', 'Lists nested too deep');
        const items: ImapArg[] = [];
        this.top().push({ type: 'list', items });
        this.stack.push(items);
        pos++;
      } else if (c === RPAREN) {
        if (this.stack.length === 1) this.fail('SYNTAX', 'Unexpected )');
        this.stack.pop();
        pos++;
        this.requireSeparator(line, pos);
      } else if (c === DQUOTE) {
        pos = this.readQuoted(line, pos + 1);
        this.requireSeparator(line, pos);
      } else if (c === LBRACE) {
        return this.readLiteralSpec(line, pos);
      } else if (isAtomChar(c)) {
        const from = pos;
        while (pos < line.length && isAtomChar(line[pos] as number)) pos++;
        const text = line.toString('latin1', from, pos);
        this.top().push(text.toUpperCase() === 'NIL' ? { type: 'nil' } : { type: 'atom', value: text });
        this.requireSeparator(line, pos);
      } else {
        this.fail('SYNTAX', 'Invalid characters in argument');
      }
    }
  }

  private readQuoted(line: Buffer, start: number): number {
    const out: number[] = [];
    let pos = start;
    while (pos < line.length) {
      const c = line[pos] as number;
      if (c === DQUOTE) {
        this.top().push({ type: 'string', value: Buffer.from(out), literal: false });
        return pos + 1;
      }
      if (c === BACKSLASH) {
        const next = line[pos + 1];
        if (next !== DQUOTE && next !== BACKSLASH) this.fail('SYNTAX', 'Invalid escape in quoted string');
        out.push(next);
        pos += 2;
        continue;
      }
      // 8-bit is accepted (UTF-8 passwords); NUL and CR can never be part of a quoted string
      if (c === 0x00 || c === 0x0d) this.fail('SYNTAX', 'Invalid character in quoted string');
      out.push(c);
      pos++;
    }
    return this.fail('SYNTAX', 'Unterminated quoted string');
  }

  /** `{n}` or `{n+}` must end the line. */
  private readLiteralSpec(line: Buffer, start: number): ParseStep {
    const spec = line.toString('latin1', start);
    const m = /^\{(\d{1,10})(\+?)\}$/.exec(spec);
    if (!m) return this.fail('SYNTAX', 'Invalid literal');
    const size = Number(m[1]);
    this.literalBytes += size;
    this.literals++;
    if (this.literalBytes > this.limits.maxLiteralBytes) this.fail('TOO_LARGE', 'Literal size too large');
    if (this.literals > this.limits.maxLiterals) this.fail('TOO_LARGE', 'Too many literals');
    this.pendingLiteral = { size };
    return { kind: 'literal', size, synchronizing: m[2] !== '+' };
  }

  private requireSeparator(line: Buffer, pos: number): void {
    if (pos < line.length && line[pos] !== SP && line[pos] !== RPAREN)
      this.fail('SYNTAX', 'Missing space between arguments');
  }

  private complete(): ParseStep {
    if (this.stack.length !== 1) this.fail('SYNTAX', 'Unterminated list');
    this.finished = true;
    return {
      kind: 'command',
      command: { tag: this.tagValue as string, name: this.nameValue as string, args: this.stack[0] as ImapArg[] },
    };
  }

  private top(): ImapArg[] {
    return this.stack[this.stack.length - 1] as ImapArg[];
  }

  private fail(code: ImapParseErrorCode, message: string): never {
    this.finished = true;
    throw new ImapParseError(code, message, this.tagValue);
  }
}

/** An astring argument's text (atom, quoted, literal; a bare NIL is the word "NIL"), or undefined. */
export function astring(arg: ImapArg | undefined): string | undefined {
  if (!arg) return undefined;
  switch (arg.type) {
    case 'atom':
      return arg.value;
    case 'string':
      return arg.value.toString('utf8');
    case 'nil':
      return 'NIL';
    case 'list':
      return undefined;
  }
}
