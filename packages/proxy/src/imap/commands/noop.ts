import type { CommandHandler } from './types.js';

export const noop: CommandHandler = (s, cmd) => {
  s.tagged(cmd.tag, 'OK', 'NOOP completed.');
  return 'next';
};
