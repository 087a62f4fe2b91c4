import { describe } from 'vitest';
import { loginCases } from './cases/login.js';
import { preAuthCases } from './cases/pre-auth.js';
import { sessionCases } from './cases/session.js';
import { tlsCases } from './cases/tls.js';
import { useDovecotCluster } from './helpers/cluster.js';

// One Dovecot cluster for every case: the three reserved backend addresses can host only one.
const fixture = useDovecotCluster();

describe('IMAP proxy against real Dovecot backends', () => {
  loginCases(fixture);
  preAuthCases(fixture);
  sessionCases(fixture);
  tlsCases(fixture);
});
