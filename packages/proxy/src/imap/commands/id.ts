import type { ImapArg } from '../parser.js';
import type { CommandHandler } from './types.js';

// RFC 2971: NIL, or a list of field/value pairs where fields are strings and values nstrings
function validParams(arg: ImapArg | undefined): boolean {
  if (!arg) return false;
  if (arg.type === 'nil') return true;
  if (arg.type !== 'list' || arg.items.length % 2 !== 0) return false;
  return arg.items.every((item, i) => item.type === 'string' || (i % 2 === 1 && item.type === 'nil'));
}

/** The client's ID is accepted and not kept: backends learn the client's address from Usher's own ID. */
export const id: CommandHandler = (s, cmd) => {
  if (cmd.args.length !== 1 || !validParams(cmd.args[0])) {
    s.tagged(cmd.tag, 'BAD', 'Invalid ID parameters');
    return 'next';
  }
  s.send('* ID ("name" "Usher")');
  s.tagged(cmd.tag, 'OK', 'ID completed.');
  return 'next';
};
