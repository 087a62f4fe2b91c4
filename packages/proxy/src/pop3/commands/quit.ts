import { POP3 } from '../replies.js';
import type { Pop3Handler } from '../state.js';

export const quit: Pop3Handler = async (session) => {
  session.conn.write(POP3.logout);
  return 'close';
};
