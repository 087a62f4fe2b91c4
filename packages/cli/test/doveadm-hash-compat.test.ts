import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HashFormatError, UserHasher } from '@usher/core';
import { describe, expect, it } from 'vitest';
import { requireDoveadm } from './require-doveadm.js';

const exec = promisify(execFile);

// Differential test against Debian's real doveadm: every format x username pair must give the
// same hash, or both must refuse the format.
const FORMATS = [
  '%u',
  '%Lu',
  '%Ln',
  '%Ld',
  '%n',
  '%d',
  '%Un',
  '%Uu',
  '%{user}',
  '%{username}',
  '%{domain}',
  '%L{user}',
  '%U{domain}',
  '%1.3n',
  '%3n',
  '%-3.2n',
  '%-3u',
  '%0.-2u',
  '%.-2u',
  '%2.1u',
  '%Rn',
  '%LRu',
  '%Mu',
  '%Xu',
  '%Eu',
  '%Tu',
  '%n@%d',
  'x%%y%u',
  '%06n',
  '%1.06n',
  '%-10.3u',
  '%100.2u',
  '%L%u',
  '%2.3Ln',
  '%5.-1u',
  '%x',
  '%{foo}',
  '%{user',
  '%L2u',
];
const USERS = [
  'user@example.com',
  'Test.User@Example.COM',
  'john',
  'a@b@c',
  '@x',
  'x@',
  '12345',
  '  spaced  ',
  'Jos\u00e9@EX.org',
  '\u7528\u6237@\u4f8b',
  `O'Brien"x\\y@d`,
  '',
];

async function doveadmHash(format: string, user: string): Promise<string> {
  const { stdout, stderr } = await exec('doveadm', [
    '-O',
    '-o',
    `director_username_hash=${format}`,
    'director',
    'map',
    '-u',
    user,
  ]);
  return stderr.includes('Failed to expand') ? 'error' : stdout.trim();
}

function ourHash(format: string, user: string): string {
  try {
    return String(new UserHasher(format).hash(user));
  } catch (e) {
    if (e instanceof HashFormatError) return 'error';
    throw e;
  }
}

describe('user hash equals doveadm director map -u', () => {
  requireDoveadm();
  for (const format of FORMATS) {
    it(`director_username_hash=${format}`, async () => {
      const real = await Promise.all(USERS.map((u) => doveadmHash(format, u)));
      expect(USERS.map((u) => ourHash(format, u))).toEqual(real);
    });
  }
});
