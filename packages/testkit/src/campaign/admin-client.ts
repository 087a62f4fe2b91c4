import { connect } from 'node:net';

const HELLO = 'VERSION\tdirector-doveadm\t1\t0\n';

/**
 * Sends one command line (fields joined by TAB) to a node's director-admin socket, as `doveadm
 * director` does, and resolves with the reply line ("OK", "NOTFOUND", "TRYAGAIN", an error text).
 */
export async function adminCommand(socketPath: string, fields: readonly string[], timeoutMs = 40_000): Promise<string> {
  return (await exchange(socketPath, fields, false, timeoutMs))[0] as string;
}

/** A listing command (HOST-LIST, USER-LIST, DIRECTOR-LIST, ...): its rows, without the empty line that ends them. */
export function adminListing(socketPath: string, fields: readonly string[], timeoutMs = 40_000): Promise<string[]> {
  return exchange(socketPath, fields, true, timeoutMs);
}

function exchange(
  socketPath: string,
  fields: readonly string[],
  listing: boolean,
  timeoutMs: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    let buffer = '';
    let greeted = false;
    const rows: string[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`admin ${fields[0]}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (value: string[]) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(value);
    };
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${HELLO}${fields.join('\t')}\n`));
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (!greeted) greeted = true;
        else if (!listing) return done([line]);
        else if (line === '') return done(rows);
        else rows.push(line);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`admin ${fields[0]}: connection closed without a reply`));
    });
  });
}
