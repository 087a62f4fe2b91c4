import { preAuthCapabilities } from '../capabilities.js';
import type { CommandHandler } from './types.js';

export const capability: CommandHandler = (s, cmd) => {
  s.send(`* CAPABILITY ${preAuthCapabilities(s.conn, s.ctx)}`);
  s.tagged(cmd.tag, 'OK', 'Pre-login capabilities listed, post-login capabilities have more.');
  return 'next';
};
