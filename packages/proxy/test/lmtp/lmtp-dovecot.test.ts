import { afterAll, beforeAll, describe } from 'vitest';
import { deliveryCases } from './delivery.cases.js';
import { failureCases } from './failures.cases.js';
import { LmtpEnv } from './lmtp-env.js';
import { protocolCases } from './protocol.cases.js';

// One file, one set of backends: 127.0.5.1-3 belong to this suite and no other file may bind them.
describe('LMTP proxy against real Dovecot', () => {
  const env = new LmtpEnv();
  beforeAll(() => env.start(), 60_000);
  afterAll(() => env.stop(), 60_000);

  deliveryCases(env);
  failureCases(env);
  protocolCases(env);
});
