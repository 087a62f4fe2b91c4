import { createHash, getHashes } from 'node:crypto';

/**
 * Dovecot 2.3's hash functions inside %{...}: `%{md5:user}`, `%{sha256;rounds=2;salt=x;truncate=12;format=base64:user}`.
 * Verified against doveadm: one option at most, the salt is prepended, further rounds hash the binary digest, truncate keeps
 * the top N bits right-aligned in ceil(N/8) bytes, the output is lowercase hex unless format=base64.
 */
export interface HashFunction {
  readonly algorithm: string;
  readonly rounds: number;
  readonly salt: string;
  readonly truncateBits: number;
  readonly format: 'hex' | 'base64';
  /** The variable inside, e.g. "user", "domain", "env:HOME". */
  readonly field: string;
}

const ALGORITHMS = new Set([
  'md5',
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'sha3-224',
  'sha3-256',
  'sha3-384',
  'sha3-512',
]);

/**
 * Parse "alg[;opt=v...]:field". Undefined when `name` is not a hash function at all; a string
 * (the reason) when it is one we cannot reproduce exactly.
 */
export function parseHashFunction(name: string): HashFunction | string | undefined {
  const colon = name.indexOf(':');
  if (colon < 0) return undefined;
  const [algorithm, ...options] = name.slice(0, colon).split(';') as [string, ...string[]];
  if (!ALGORITHMS.has(algorithm)) return undefined;
  if (!getHashes().includes(algorithm)) return `hash ${algorithm} is not available`;
  const field = name.slice(colon + 1);
  let rounds = 1;
  let salt = '';
  let truncateBits = 0;
  let format: 'hex' | 'base64' = 'hex';
  // Dovecot 2.3 takes one option: "salt=" swallows the rest (';' included), unknown keys are ignored,
  // and a second option makes the expansion fail (doveadm panics), so it is refused here
  const raw = options.join(';');
  const given = raw.startsWith('salt=') ? [raw] : options.filter((o) => o !== '');
  if (given.length > 1) return `hash options ${raw} cannot be combined`;
  const opt = given[0];
  if (opt !== undefined) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key === 'salt') salt = value;
    else if (key === 'rounds') {
      if (!/^[1-9]\d{0,5}$/.test(value)) return `hash option ${opt} is not valid`;
      rounds = Number(value);
    } else if (key === 'truncate') {
      if (!/^\d+$/.test(value)) return `hash option ${opt} is not valid`;
      truncateBits = Number(value);
    } else if (key === 'format') {
      if (value !== 'hex' && value !== 'base64') return `hash option ${opt} is not supported`;
      format = value;
    }
  }
  return { algorithm, rounds, salt, truncateBits, format, field };
}

export function applyHashFunction(fn: HashFunction, value: Buffer): Buffer {
  let digest: Buffer = createHash(fn.algorithm).update(Buffer.from(fn.salt, 'utf8')).update(value).digest();
  for (let r = 1; r < fn.rounds; r++) digest = createHash(fn.algorithm).update(digest).digest();
  if (fn.truncateBits > 0 && fn.truncateBits < digest.length * 8) digest = topBits(digest, fn.truncateBits);
  return Buffer.from(digest.toString(fn.format), 'latin1');
}

/** The first `bits` bits, shifted right so they end at the last bit of ceil(bits/8) bytes. */
function topBits(digest: Buffer, bits: number): Buffer {
  let n = 0n;
  for (const b of digest) n = (n << 8n) | BigInt(b);
  const kept = n >> BigInt(digest.length * 8 - bits);
  const out = Buffer.alloc(Math.ceil(bits / 8));
  let k = kept;
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(k & 0xffn);
    k >>= 8n;
  }
  return out;
}
