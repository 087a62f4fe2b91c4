import { describe, expect, it } from 'vitest';
import { formatReply, relayed } from '../../src/lmtp/replies.js';

describe('relayed backend replies', () => {
  it("turns a backend's 421 into 451 4.4.2: the backend closed its connection, not the client's session", () => {
    // Regression: a backend's 421 after DATA was relayed as is, so the MTA dropped the whole
    // session and deferred the recipients of the other backends too. 4.4.2 (not the backend's
    // 4.3.2) says the outcome is unknown: a stopping Dovecot may have stored the message already.
    expect(formatReply(relayed({ code: 421, lines: ['4.3.2 b1 Server shutting down'] }))).toBe(
      '451 4.4.2 b1 Server shutting down\r\n',
    );
    expect(formatReply(relayed({ code: 421, lines: ['Shutting down'] }))).toBe('451 4.4.2 Shutting down\r\n');
    expect(formatReply(relayed({ code: 421, lines: [] }))).toBe('451 4.4.2\r\n');
  });

  it('leaves every other reply as the backend said it', () => {
    for (const code of [250, 450, 451, 452, 550, 552, 554]) {
      const reply = { code, lines: ['x.y.z text', 'more'] };
      expect(relayed(reply)).toBe(reply);
    }
  });
});
