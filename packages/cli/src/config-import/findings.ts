/** One thing the importer has to tell the operator, named by its Dovecot setting path. */
export interface Finding {
  /** Dovecot's own path: "director_flush_socket", "service/imap-login/inet_listener/imap/reuse_port". */
  readonly setting: string;
  readonly line?: number;
  readonly reason: string;
}

/**
 * What could not be carried over, in three lists: `attention` must be acted on before usherd runs
 * as the director did (certificates, hidden values, this node's address); `notCarried` are
 * settings with no equivalent (or unknown to the importer); `ignored` are Dovecot internals a proxy
 * ring does not need. Each setting is reported once per list.
 */
export class Findings {
  readonly attentionList: Finding[] = [];
  readonly notCarriedList: Finding[] = [];
  readonly ignoredList: Finding[] = [];
  private readonly seen = new Set<string>();

  attention(setting: string, reason: string, at?: { line: number }): void {
    this.add(this.attentionList, 'a', setting, reason, at);
  }

  /** The same attention item from several places (e.g. every listener on `listen`) once. */
  attentionOnce(setting: string, reason: string): void {
    if (this.seen.has(`a\0${setting}\0${reason}`)) return;
    this.attention(setting, reason);
  }

  notCarried(setting: string, reason: string, at?: { line: number }): void {
    this.add(this.notCarriedList, 'n', setting, reason, at);
  }

  ignored(setting: string, at?: { line: number }): void {
    this.add(this.ignoredList, 'i', setting, '', at);
  }

  private add(list: Finding[], kind: string, setting: string, reason: string, at?: { line: number }): void {
    const key = `${kind}\0${setting}\0${reason}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    list.push({ setting, reason, ...(at && at.line > 0 ? { line: at.line } : {}) });
  }
}
