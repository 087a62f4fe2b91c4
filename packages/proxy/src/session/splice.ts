import type { Socket } from 'node:net';

/**
 * After login, bytes flow both ways without passing through JS per line: pipe() applies
 * backpressure (a slow reader pauses the fast writer), and either side closing ends both.
 * Returns a promise settled when both sockets are done.
 */
export function splice(
  client: Socket,
  backend: Socket,
  pending: { toBackend: Buffer; toClient: Buffer },
): Promise<{ clientBytes: number; backendBytes: number }> {
  return new Promise((resolve) => {
    // counted by the sockets themselves: a 'data' listener per side would cost a JS call per chunk
    const clientStart = client.bytesRead;
    const backendStart = backend.bytesRead;
    if (pending.toClient.length > 0) client.write(pending.toClient);
    if (pending.toBackend.length > 0) backend.write(pending.toBackend);
    client.pipe(backend);
    backend.pipe(client);
    client.resume();
    backend.resume();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      client.unpipe(backend);
      backend.unpipe(client);
      // let queued bytes drain, then make sure nothing stays half-open
      client.end();
      backend.end();
      setTimeout(() => {
        client.destroy();
        backend.destroy();
      }, 5000).unref();
      resolve({ clientBytes: client.bytesRead - clientStart, backendBytes: backend.bytesRead - backendStart });
    };
    client.once('close', finish);
    backend.once('close', finish);
    client.once('end', finish);
    backend.once('end', finish);
    client.on('error', finish);
    backend.on('error', finish);
    // a side that closed before the splice began never emits 'close' again
    if (client.destroyed || backend.destroyed) finish();
  });
}
