import type { CommandHandler } from './types.js';

// ENABLE is advertised (clients look for it before login) but means nothing until a mailbox
// session exists; Dovecot's imap-login answers it this way, so clients already cope with it.
export const enable: CommandHandler = (s, cmd) => {
  s.send('* ENABLED');
  s.tagged(cmd.tag, 'OK', 'ENABLE ignored in non-authenticated state.');
  return 'next';
};
