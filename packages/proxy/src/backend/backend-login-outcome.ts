/** How a backend login ended, for the protocols whose verdict is one reply (POP3, ManageSieve). */
export type BackendLoginOutcome =
  /** The backend accepted the login; `reply` (with its line end) goes to the client verbatim. */
  | { readonly kind: 'ok'; readonly reply: string }
  /** The backend said no (wrong password, in use, ...); `reply` goes to the client verbatim. */
  | { readonly kind: 'rejected'; readonly reply: string }
  /** The backend misbehaved, vanished or timed out: the client hears a temporary failure. */
  | { readonly kind: 'failed'; readonly reason: string };

/** Thrown inside a backend login to end it as `failed`; never escapes the login function. */
export class BackendFailure extends Error {}
