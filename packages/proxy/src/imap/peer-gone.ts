import type { Socket } from 'node:net';

export interface PeerWatch {
  /** Settles once the peer has closed or reset; never rejects. */
  readonly gone: Promise<'gone'>;
  readonly isGone: boolean;
  dispose(): void;
}

/**
 * Notices a client leaving while the session is busy with something else (the backend login),
 * so the backend socket can be closed at once instead of after the login finishes or times out.
 */
export function watchPeerGone(socket: Socket): PeerWatch {
  let isGone = false;
  let settle: (v: 'gone') => void = () => {};
  const gone = new Promise<'gone'>((resolve) => {
    settle = resolve;
  });
  const onGone = () => {
    isGone = true;
    settle('gone');
  };
  socket.on('end', onGone);
  socket.on('close', onGone);
  if (socket.destroyed || socket.readableEnded) onGone();
  return {
    gone,
    get isGone() {
      return isGone;
    },
    dispose() {
      socket.off('end', onGone);
      socket.off('close', onGone);
    },
  };
}
