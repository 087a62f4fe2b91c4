/**
 * LMTP command syntax (RFC 2033 on top of RFC 5321): command lines, MAIL/RCPT paths and their
 * ESMTP parameters. Pure functions over the line as received, so they can be fuzzed in isolation;
 * the session decides what a valid command means.
 */

export interface LmtpCommand {
  /** Upper-cased verb ("" for an empty line). */
  readonly verb: string;
  /** Everything after the first space, trailing blanks removed. */
  readonly args: string;
}

export interface EsmtpParam {
  /** Upper-cased keyword. */
  readonly keyword: string;
  readonly value: string | undefined;
  /** The parameter as the client wrote it, forwarded unchanged. */
  readonly raw: string;
}

export type PathResult =
  | { readonly ok: true; readonly address: string; readonly params: readonly EsmtpParam[] }
  | { readonly ok: false; readonly reason: string };

/** RFC 5321 §4.5.3.1.3: the longest reverse-path or forward-path, brackets included. */
export const MAX_PATH_LENGTH = 256;

// Bytes a command line may carry: printable ASCII, space and tab. Anything else (NUL, bare CR,
// 8-bit) is either garbage or an attempt to smuggle something past a backend's parser.
const COMMAND_LINE = /^[\x20-\x7e\t]*$/;
const VERB = /^[A-Za-z]{1,16}$/;
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const VALUE = /^[\x21-\x3c\x3e-\x7e]+$/;
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const ADDRESS_LITERAL = /^\[[\x21-\x5a\x5e-\x7e]+\]$/;
const QUOTED_CHAR = /^[\x20-\x7e]$/;

/** Split a command line; undefined if it holds bytes no command may contain or no verb. */
export function parseCommand(line: string): LmtpCommand | undefined {
  if (!COMMAND_LINE.test(line)) return undefined;
  const sp = line.indexOf(' ');
  const verb = sp < 0 ? line : line.slice(0, sp);
  if (!VERB.test(verb)) return undefined;
  return { verb: verb.toUpperCase(), args: sp < 0 ? '' : line.slice(sp + 1).trimEnd() };
}

/** `FROM:<path> params`: the null path `<>` is allowed. */
export function parseMailFrom(args: string): PathResult {
  return parsePath(args, 'FROM', true);
}

/** `TO:<path> params`: a mailbox, with or without a domain (LMTP delivers to local users). */
export function parseRcptTo(args: string): PathResult {
  return parsePath(args, 'TO', false);
}

/** The LHLO argument: a domain or an address literal; what the backend is told as HELO. */
export function parseLhloName(args: string): string | undefined {
  if (args === '' || args.length > 255) return undefined;
  return isDomain(args) ? args : undefined;
}

function parsePath(args: string, keyword: 'FROM' | 'TO', allowNull: boolean): PathResult {
  const head = `${keyword}:`;
  if (args.slice(0, head.length).toUpperCase() !== head) return fail(`Syntax: ${keyword}:<address>`);
  // RFC 5321 allows no space after the colon, but enough MTAs send one that refusing it only hurts
  let rest = args.slice(head.length).replace(/^ +/, '');
  if (!rest.startsWith('<')) return fail('Missing <');
  const close = findPathEnd(rest);
  if (close < 0) return fail('Missing >');
  if (close + 1 > MAX_PATH_LENGTH) return fail('Path too long');
  const inner = rest.slice(1, close);
  rest = rest.slice(close + 1);
  if (rest !== '' && !rest.startsWith(' ')) return fail('Garbage after >');
  const params = parseParams(rest.trim());
  if (!params) return fail('Invalid parameters');
  if (inner === '') return allowNull ? { ok: true, address: '', params } : fail('Empty recipient');
  const address = stripSourceRoute(inner);
  if (address === undefined || !isMailbox(address)) return fail('Invalid address');
  return { ok: true, address, params };
}

/** Index of the `>` that closes the path, skipping quoted local parts; -1 if there is none. */
function findPathEnd(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '>') return i;
    else if (c === '<') return -1;
  }
  return -1;
}

/** `@a,@b:user@d` is obsolete; RFC 5321 §C says to accept it and use only the mailbox. */
function stripSourceRoute(inner: string): string | undefined {
  if (!inner.startsWith('@')) return inner;
  const colon = inner.indexOf(':');
  if (colon < 0) return undefined;
  const hops = inner.slice(0, colon).split(',');
  if (!hops.every((h) => h.startsWith('@') && isDomain(h.slice(1)))) return undefined;
  return inner.slice(colon + 1);
}

function isMailbox(address: string): boolean {
  const at = localPartEnd(address);
  if (at === undefined) return false;
  if (at === address.length) return true; // a bare local part names a local user
  return address[at] === '@' && isDomain(address.slice(at + 1));
}

/** Length of a valid local part at the start of `s` (dot-string or quoted-string), or undefined. */
function localPartEnd(s: string): number | undefined {
  if (s.startsWith('"')) {
    for (let i = 1; i < s.length; i++) {
      const c = s[i] as string;
      if (c === '\\') {
        if (!QUOTED_CHAR.test(s[i + 1] ?? '')) return undefined;
        i++;
      } else if (c === '"') return i > 1 ? i + 1 : undefined;
      else if (!QUOTED_CHAR.test(c)) return undefined;
    }
    return undefined;
  }
  const at = s.lastIndexOf('@');
  const local = at < 0 ? s : s.slice(0, at);
  if (local === '' || !local.split('.').every((atom) => ATEXT.test(atom))) return undefined;
  return local.length;
}

function isDomain(d: string): boolean {
  if (d.startsWith('[')) return ADDRESS_LITERAL.test(d);
  if (d === '' || d.length > 255) return false;
  return d.split('.').every((label) => label.length <= 63 && DOMAIN_LABEL.test(label));
}

function parseParams(s: string): EsmtpParam[] | undefined {
  if (s === '') return [];
  const out: EsmtpParam[] = [];
  for (const raw of s.split(/ +/)) {
    const eq = raw.indexOf('=');
    const keyword = eq < 0 ? raw : raw.slice(0, eq);
    const value = eq < 0 ? undefined : raw.slice(eq + 1);
    if (!KEYWORD.test(keyword) || (value !== undefined && !VALUE.test(value))) return undefined;
    out.push({ keyword: keyword.toUpperCase(), value, raw });
  }
  return out;
}

function fail(reason: string): PathResult {
  return { ok: false, reason };
}
