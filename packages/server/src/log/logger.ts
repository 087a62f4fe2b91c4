import type { ProxyLogger } from '@usher/proxy';
import winston from 'winston';

/** Keys whose values never reach a log line, whatever a caller passes. */
const SECRET_KEYS = /pass|secret|token|sasl|response|credential/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
  return info;
});

export type UsherLogger = ProxyLogger & { close(): void };

/** winston behind the ProxyLogger seam; every line names the node. */
export function createLogger(opts: { node: string; format: 'text' | 'json'; level: string }): UsherLogger {
  const format =
    opts.format === 'json'
      ? winston.format.combine(redact(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          redact(),
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const fields = Object.entries(rest)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ');
            return `${timestamp} ${level} ${message}${fields ? ` ${fields}` : ''}`;
          }),
        );
  const logger = winston.createLogger({
    level: opts.level,
    format,
    defaultMeta: { node: opts.node },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
  // winston filters by level only in the transport, after formatting: check first, so a disabled
  // level costs one comparison on the login hot path instead of a formatted line thrown away
  const at = (level: string) => (m: string, f?: Record<string, unknown>) => {
    if (logger.isLevelEnabled(level)) logger.log(level, m, f);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), close: () => logger.close() };
}
