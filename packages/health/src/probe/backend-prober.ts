import { imapProbe } from './imap-probe.js';
import { LineClient, ProbeFailure } from './line-client.js';
import { lmtpProbe } from './lmtp-probe.js';
import { pop3Probe } from './pop3-probe.js';
import type { ProbeDialogue, ProbeOptions, ProbeProtocol } from './probe-options.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** What failed ("imap: connect: ECONNREFUSED"), or "" when ok. */
  readonly detail: string;
}

/** Checks one backend once. The health monitor only needs this, so tests can script the outcome. */
export interface Prober {
  probe(ip: string): Promise<ProbeResult>;
}

const DIALOGUES: Record<ProbeProtocol, ProbeDialogue> = { imap: imapProbe, pop3: pop3Probe, lmtp: lmtpProbe };

/**
 * The real prober: every configured protocol of the backend, in parallel, within one deadline. The
 * backend passes only if every one passes: a backend whose LMTP is dead loses mail even if IMAP
 * still answers.
 */
export class BackendProber implements Prober {
  private readonly opts: ProbeOptions;

  constructor(opts: ProbeOptions) {
    if (opts.protocols.length === 0) throw new RangeError('health checks need at least one protocol');
    this.opts = opts;
  }

  async probe(ip: string): Promise<ProbeResult> {
    const deadline = Date.now() + this.opts.timeoutMs;
    const failures = await Promise.all(this.opts.protocols.map((p) => this.one(p, ip, deadline)));
    const failed = failures.filter((f) => f !== undefined);
    return { ok: failed.length === 0, detail: failed.join('; ') };
  }

  private async one(protocol: ProbeProtocol, ip: string, deadline: number): Promise<string | undefined> {
    let client: LineClient | undefined;
    try {
      client = await LineClient.open({
        host: ip,
        port: this.opts.ports[protocol],
        deadline,
        // implicit TLS applies to every port; STARTTLS is each dialogue's business
        ...(this.opts.tls ? { tls: this.opts.tls } : {}),
      });
      await DIALOGUES[protocol](client, this.opts);
      return undefined;
    } catch (e) {
      return `${protocol}: ${e instanceof ProbeFailure ? e.message : String(e)}`;
    } finally {
      client?.close();
    }
  }
}
