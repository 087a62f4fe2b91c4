import { request } from 'node:http';
import { HostTable } from '@usher/core';
import { silentLogger } from '@usher/proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, UsherNode } from '../src/index.js';
import { parseListenAddress } from '../src/observability/listen-address.js';

// This file owns 127.0.31.1:9102 (an in-process node without listeners or backends to reach).
const METRICS = { host: '127.0.31.1', port: 9102 };

function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...METRICS, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one series in Prometheus text, e.g. value(body, 'usher_logins_total{protocol="imap",result="ok"}'). */
function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let node: UsherNode;

beforeAll(async () => {
  const config = loadConfig({
    overrides: {
      director_mail_servers: '127.0.32.1 127.0.32.2@blue',
      metrics_listen: `${METRICS.host}:${METRICS.port}`,
      director_admin_socket: '',
      health_checks: false,
    },
  });
  node = new UsherNode(config, { ...silentLogger, close() {} });
  await node.start();
});

afterAll(async () => {
  await node?.stop(0);
});

describe('metrics_listen', () => {
  it('accepts ip:port and [v6]:port only', () => {
    expect(parseListenAddress('127.0.1.1:9100')).toEqual({ host: '127.0.1.1', port: 9100 });
    expect(parseListenAddress('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    for (const bad of ['9100', 'localhost:9100', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '::1:9100'])
      expect(parseListenAddress(bad), bad).toBeUndefined();
  });

  it('is off when empty', async () => {
    const quiet = new UsherNode(
      loadConfig({
        overrides: { director_mail_servers: '127.0.32.1', director_admin_socket: '', health_checks: false },
      }),
      { ...silentLogger, close() {} },
    );
    await quiet.start();
    expect(quiet.observability.address()).toBeUndefined();
    await quiet.stop(0);
  });
});

describe('/metrics, /healthz, /readyz of a running node', () => {
  it('answers /healthz and /readyz once the ring of one is ready', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatch(/^ready: 0\/0 peers linked/);
  });

  it('exposes the host table, the ring and the process in Prometheus format', async () => {
    const { status, type, body } = await get('/metrics');
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(value(body, 'usher_ring_ready')).toBe(1);
    expect(value(body, 'usher_ring_alone')).toBe(1);
    expect(value(body, 'usher_ring_sync_lag_seconds')).toBe(0);
    expect(value(body, 'usher_ring_peers{state="up"}')).toBe(0);
    expect(value(body, 'usher_backend_vhosts{backend="127.0.32.1",tag=""}')).toBe(100);
    expect(value(body, 'usher_backend_down{backend="127.0.32.2",tag="blue"}')).toBe(0);
    expect(value(body, 'usher_users{backend="127.0.32.1",tag=""}')).toBe(0);
    const table = new HostTable();
    table.set({ ip: '127.0.32.1' });
    table.set({ ip: '127.0.32.2', tag: 'blue' });
    expect(value(body, 'usher_ring_hosts_hash')).toBe(table.hostsHash());
    expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(body).toContain('# HELP usher_logins_total ');
  });

  it('counts what the proxy reports', async () => {
    const events = node.observability.events;
    events.onLogin?.('pop3', 'ok');
    events.onLogin?.('pop3', 'failed');
    events.onLogin?.('pop3', 'failed');
    events.onRoute?.('pop3', 0.0002, true);
    events.onRoute?.('pop3', 3, false);
    const { body } = await get('/metrics');
    expect(value(body, 'usher_logins_total{protocol="pop3",result="ok"}')).toBe(1);
    expect(value(body, 'usher_logins_total{protocol="pop3",result="failed"}')).toBe(2);
    expect(value(body, 'usher_routing_duration_seconds_count{protocol="pop3",result="ok"}')).toBe(1);
    expect(value(body, 'usher_routing_duration_seconds_bucket{le="0.00025",protocol="pop3",result="ok"}')).toBe(1);
    expect(value(body, 'usher_routing_duration_seconds_bucket{le="2.5",protocol="pop3",result="error"}')).toBe(0);
    expect(value(body, 'usher_routing_duration_seconds_bucket{le="5",protocol="pop3",result="error"}')).toBe(1);
  });

  it('refuses other paths and methods, and answers HEAD without a body', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/metrics', 'POST')).status).toBe(405);
    expect(await get('/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('says not ready while draining, so load balancers stop sending clients', async () => {
    node.observability.draining();
    const r = await get('/readyz');
    expect(r).toMatchObject({ status: 503, body: 'not ready: shutting down\n' });
    expect((await get('/healthz')).status).toBe(200);
  });
});
