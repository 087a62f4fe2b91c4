import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from './helpers/proxy-server.js';
import { RawClient } from './helpers/raw-client.js';
import { TestRouter } from './helpers/router.js';

// A scripted backend for the paths Dovecot never takes with the testkit config: no capabilities in
// the greeting, no SASL-IR, no ID, and an XOAUTH2 error challenge only the client can acknowledge.
const BACKEND = { ip: '127.0.3.2', port: 10160 };
const PORT = 10161;
const XOAUTH2_ERROR = Buffer.from('{"status":"401","schemes":"bearer"}').toString('base64');
const b64 = (s: string) => Buffer.from(s).toString('base64');

function scriptedBackend(received: string[]): Server {
  return createServer((s: Socket) => {
    s.on('error', () => {});
    s.write('* OK fake backend ready.\r\n');
    let buf = '';
    let state: { tag: string; mech: string; step: number } | undefined;
    let loggedIn = false;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        received.push(line);
        const [tag = '', cmd = '', arg] = line.split(' ');
        if (loggedIn) s.write(`${tag} OK fake ${cmd.toLowerCase()}\r\n`);
        else if (state?.mech === 'XOAUTH2') {
          // first the token, then the client's acknowledgement of the error challenge
          if (state.step++ === 0) s.write(`+ ${XOAUTH2_ERROR}\r\n`);
          else {
            s.write(`${state.tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
            state = undefined;
          }
        } else if (state?.mech === 'LOGIN') {
          if (state.step++ === 0) s.write('+ UGFzc3dvcmQ6\r\n');
          else {
            s.write(`* OK untagged before the verdict\r\n${state.tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n`);
            loggedIn = true;
          }
        } else if (cmd === 'CAPABILITY') s.write('* CAPABILITY IMAP4rev1 AUTH=LOGIN AUTH=XOAUTH2\r\nC OK done\r\n');
        else if (cmd === 'AUTHENTICATE' && arg !== undefined) {
          state = { tag, mech: arg, step: 0 };
          s.write(arg === 'LOGIN' ? '+ VXNlcm5hbWU6\r\n' : '+ \r\n');
        } else s.write(`${tag} BAD unexpected\r\n`);
      }
    });
  });
}

describe('backend login replay against a scripted backend', () => {
  let root: string;
  let proxy: TestProxy;
  let backend: Server;
  const received: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'usher-imap-bl-'));
    const script = fileURLToPath(new URL('../../../../scripts/make-test-certs.sh', import.meta.url));
    execFileSync('bash', [script, root], { stdio: 'ignore' });
    const certs = {
      ca: readFileSync(join(root, 'ca.pem'), 'utf8'),
      cert: readFileSync(join(root, 'server.pem'), 'utf8'),
      key: readFileSync(join(root, 'server.key'), 'utf8'),
    };
    backend = scriptedBackend(received);
    await new Promise<void>((resolve) => backend.listen({ host: BACKEND.ip, port: BACKEND.port }, resolve));
    proxy = await startTestProxy({
      port: PORT,
      router: new TestRouter([BACKEND.ip]),
      certs,
      trusted: true,
      backendPorts: { imap: BACKEND.port },
      limits: { authFailureDelayMs: 50 },
    });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => backend.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  it('relays an XOAUTH2 error challenge to the client and its answer back, then the NO', async () => {
    received.length = 0;
    const c = await RawClient.connect(PORT);
    const token = b64('user=demo0001\x01auth=Bearer expired\x01\x01');
    c.send(`a AUTHENTICATE XOAUTH2 ${token}\r\n`);
    await c.expect(new RegExp(`^\\+ ${XOAUTH2_ERROR}\\r\\n`, 'm'));
    c.send('\r\n');
    await c.expect(/^a NO \[AUTHENTICATIONFAILED\] Authentication failed\.\r\n/m);
    // no capabilities in the greeting: asked for; no SASL-IR and no ID: neither used
    expect(received).toEqual(['C CAPABILITY', 'a AUTHENTICATE XOAUTH2', token, '']);
    c.destroy();
  });

  it('answers every backend challenge with the next saved response, tag I included', async () => {
    received.length = 0;
    const c = await RawClient.connect(PORT);
    c.send('I AUTHENTICATE LOGIN\r\n');
    await c.expect(/^\+ VXNlcm5hbWU6\r\n/m);
    c.send(`${b64('demo0002')}\r\n`);
    await c.expect(/^\+ UGFzc3dvcmQ6\r\n/m);
    c.send(`${b64('secret')}\r\nI2 NOOP\r\n`);
    await c.expect(/^\* OK untagged before the verdict\r\nI OK \[CAPABILITY IMAP4rev1 IDLE\] Logged in\r\n/m);
    await c.expect(/^I2 OK fake noop\r\n/m);
    expect(received).toEqual(['C CAPABILITY', 'I AUTHENTICATE LOGIN', b64('demo0002'), b64('secret'), 'I2 NOOP']);
    expect(proxy.ctx.registry.list()[0]).toMatchObject({ username: 'demo0002', backend: BACKEND.ip });
    // the pre-auth handler has returned while the session runs: nothing of the login (the password
    // included) stays reachable from an idle session
    expect(proxy.running).toBe(0);
    c.destroy();
    await proxy.settled();
    expect(proxy.ctx.registry.size).toBe(0);
  });
});
