import type { Socket } from 'node:net';
import type { BackendReads } from '../backend/backend-connection.js';

/** How long both sides may take to drain and close once either side ended. */
const LINGER_MS = 5000;

export interface SpliceBytes {
  readonly clientBytes: number;
  readonly backendBytes: number;
}

/** A running splice. */
export interface Splice {
  /** Forward nothing more from the backend (a kick: the goodbye must be the client's last line). */
  stopBackend(): void;
}

/**
 * After login, bytes flow both ways with as little JS per chunk as possible and with backpressure
 * (a slow reader pauses the fast writer); either side ending or failing ends both. A plain backend's
 * reads arrive through its BackendReads (zero-copy while streaming); otherwise through 'data'.
 * Returns a promise settled when both sockets are done.
 */
export function splice(
  client: Socket,
  backend: Socket,
  pending: { toBackend: Buffer; toClient: Buffer },
  reads?: BackendReads,
): Promise<SpliceBytes> {
  return new Promise((resolve) => startSplice(client, backend, pending, reads, resolve));
}

/** Like splice(), for a session that must be able to stop it; `onDone` runs once both sockets are finished. */

export function startSplice(
  client: Socket,
  backend: Socket,
  pending: { toBackend: Buffer; toClient: Buffer },
  reads: BackendReads | undefined,
  onDone: (bytes: SpliceBytes) => void,
): Splice {
  // counted by the sockets themselves: a 'data' listener per side would cost a JS call per chunk
  const clientStart = client.bytesRead;
  const backendStart = backend.bytesRead;
  let done = false;
  let stopped = false;

  const finish = () => {
    if (done) return;
    done = true;
    client.off('data', clientToBackend);
    backend.off('data', backendToClient);
    // let queued bytes drain, then make sure nothing stays half-open
    client.end();
    backend.end();
    setTimeout(() => {
      client.destroy();
      backend.destroy();
    }, LINGER_MS).unref();
    onDone({ clientBytes: client.bytesRead - clientStart, backendBytes: backend.bytesRead - backendStart });
  };

  // client -> backend: ordinary stream chunks, paused while the backend's send queue is over its mark
  const resumeClient = () => {
    if (!done) client.resume();
  };
  const clientToBackend = (chunk: Buffer) => {
    if (!backend.write(chunk)) {
      client.pause();
      backend.once('drain', resumeClient);
    }
  };

  // backend -> client
  const resumeBackend = () => {
    if (!done) backend.resume();
  };
  // a borrowed chunk the client socket could not take at once: reading waits for that write
  let waitingForWrite = false;
  const afterBorrowedWrite = () => {
    if (!waitingForWrite || client.writableLength > 0) return;
    waitingForWrite = false;
    reads?.chunkWritten();
    if (!done) backend.resume();
  };
  const backendToClient = (chunk: Buffer) => {
    if (stopped) return;
    if (!client.write(chunk)) {
      backend.pause();
      client.once('drain', resumeBackend);
    }
  };
  const fromReads = (chunk: Buffer, borrowed: boolean): boolean => {
    if (stopped || done) return true;
    if (!borrowed) {
      if (client.write(chunk)) return true;
      client.once('drain', resumeBackend);
      return false;
    }
    // the chunk's memory is the next read's: reading waits until the client socket has taken it
    client.write(chunk, afterBorrowedWrite);
    if (client.writableLength === 0) return true;
    waitingForWrite = true;
    return false;
  };

  if (pending.toClient.length > 0) client.write(pending.toClient);
  if (pending.toBackend.length > 0) backend.write(pending.toBackend);
  client.on('data', clientToBackend);
  // a plain backend's reads have fed its login reader until now; what that read ahead is in toClient
  if (reads) reads.sink = fromReads;
  else {
    backend.on('data', backendToClient);
  }
  client.resume();
  backend.resume();
  // finish is idempotent, so plain listeners (no once() wrappers); an error is always followed by
  // 'close', and both sockets already carry an 'error' listener of their owner
  client.on('close', finish);
  backend.on('close', finish);
  client.on('end', finish);
  backend.on('end', finish);
  // a side that closed before the splice began never emits 'close' again
  if (client.destroyed || backend.destroyed) finish();

  return {
    stopBackend() {
      stopped = true;
      backend.off('data', backendToClient);
    },
  };
}
