import { type Route, type Router, userHash } from '@usher/core';
import { DEFAULT_LIMITS, type ProxyContext, type ProxyLimits, type ProxyLogger, SessionRegistry } from '@usher/proxy';

/** Routes by a fixed table (user -> backend IP), everyone else to `fallback`. */
export function fixedRouter(fallback: string, table: Record<string, string> = {}): Router {
  return {
    refreshIntervalMs: 60_000,
    refresh() {},
    async route(username: string, tag: string): Promise<Route> {
      return { backend: table[username] ?? fallback, userHash: userHash(username), tag };
    },
  };
}

export interface LoggedLine {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** Keeps every log line, so tests can assert that no secret was logged. */
export function recordingLogger(): ProxyLogger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function testContext(
  overrides: Partial<Omit<ProxyContext, 'limits'>> & { router: Router; limits?: Partial<ProxyLimits> },
): ProxyContext {
  const { limits, ...rest } = overrides;
  return {
    registry: new SessionRegistry(),
    log: recordingLogger(),
    backendPorts: { imap: 143, pop3: 110, lmtp: 24, managesieve: 4190 },
    masterSeparator: '*',
    tag: '',
    greetingName: 'Usher',
    proxyTtl: 5,
    ...rest,
    limits: {
      ...DEFAULT_LIMITS,
      authFailureDelayMs: 200,
      backendConnectTimeoutMs: 3000,
      backendLoginTimeoutMs: 5000,
      ...limits,
    },
  };
}
