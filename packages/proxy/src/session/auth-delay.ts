/** Wait before answering a failed login; the connection may close meanwhile, which is fine. */
export function authFailureDelay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}
