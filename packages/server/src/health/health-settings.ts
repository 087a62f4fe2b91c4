import type { ProbeProtocol } from '@usher/health';

/** The health_* settings in the units the code uses (the schema has validated them). */
export interface HealthSettings {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failCount: number;
  readonly okCount: number;
  readonly protocols: readonly ProbeProtocol[];
  /** "" = no login in the probes. */
  readonly user: string;
  readonly password: string;
  /** "" = no MAIL FROM / RCPT TO in the LMTP probe. */
  readonly lmtpRcpt: string;
  /** 0 = users of a down backend stay assigned to it. */
  readonly moveUsersAfterMs: number;
}

export function readHealthSettings(get: <T>(key: string) => T, ms: (key: string) => number): HealthSettings {
  const words = get<string>('health_check_protocols')
    .split(/[\s,]+/)
    .filter(Boolean);
  return {
    enabled: get('health_checks'),
    intervalMs: ms('health_check_interval'),
    timeoutMs: ms('health_check_timeout'),
    failCount: get('health_check_fail_count'),
    okCount: get('health_check_ok_count'),
    protocols: [...new Set(words)] as ProbeProtocol[],
    user: get('health_check_user'),
    password: get('health_check_password'),
    lmtpRcpt: get('health_check_lmtp_rcpt'),
    moveUsersAfterMs: get<string>('health_move_users_after') === '' ? 0 : ms('health_move_users_after'),
  };
}
