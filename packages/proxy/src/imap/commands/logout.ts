import type { CommandHandler } from './types.js';

export const logout: CommandHandler = (s, cmd) => {
  s.send('* BYE Logging out');
  s.close(`${cmd.tag} OK Logout completed.\r\n`);
  return 'end';
};
