/**
 * An IMAP quoted string. Values Usher writes (session ids, addresses, names) never hold CR/LF,
 * but one that did would end the command early and inject another, so those become spaces.
 */
export function imapQuote(value: string): string {
  return `"${value.replace(/[\r\n\0]/g, ' ').replace(/(["\\])/g, '\\$1')}"`;
}
