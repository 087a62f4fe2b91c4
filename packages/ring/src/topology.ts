import { compareIp, type IpAddress, parseIp } from '@usher/core';
import { RingError } from './errors.js';

/** A ring member id ("ip:port", IPv6 as "[addr]:port") with its parsed parts. */
export interface Member {
  readonly id: string;
  readonly ip: IpAddress;
  readonly port: number;
}

export function parseMember(id: string): Member {
  const colon = id.lastIndexOf(':');
  const host = colon > 0 ? id.slice(0, colon) : '';
  const port = Number(id.slice(colon + 1));
  const ip = parseIp(host);
  if (!ip || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RingError('BAD_MEMBER', `not a ring member id ("ip:port"): ${id}`, { member: id });
  }
  return { id, ip, port };
}

/** Dovecot's director order (reference §5.2): IP family, address bytes, port. */
export function compareMembers(a: Member, b: Member): number {
  return compareIp(a.ip, b.ip) || a.port - b.port;
}

/**
 * Who our neighbours are. Members are kept in the director order; our right is the first member
 * after us (wrapping) that is neither removed nor marked failed. A failure mark expires, so a
 * recovered node is tried again; a removed member is never linked again.
 */
export class Topology {
  readonly self: Member;
  private members: Member[] = [];
  private readonly removed = new Set<string>();
  private readonly failedUntil = new Map<string, number>();

  constructor(self: string, members: Iterable<string>) {
    this.self = parseMember(self);
    this.add(self);
    for (const m of members) this.add(m);
  }

  /** Live members in ring order, self included. */
  list(): string[] {
    return this.members.map((m) => m.id);
  }

  has(node: string): boolean {
    return this.members.some((m) => m.id === node);
  }

  isRemoved(node: string): boolean {
    return this.removed.has(node);
  }

  /** Adds a member; false when already known or removed for good. */
  add(node: string): boolean {
    if (this.removed.has(node) || this.has(node)) return false;
    const m = parseMember(node);
    let i = 0;
    while (i < this.members.length && compareMembers(this.members[i] as Member, m) < 0) i++;
    this.members.splice(i, 0, m);
    return true;
  }

  remove(node: string): boolean {
    if (node === this.self.id) return false;
    this.removed.add(node);
    const before = this.members.length;
    this.members = this.members.filter((m) => m.id !== node);
    this.failedUntil.delete(node);
    return this.members.length !== before;
  }

  markFailed(node: string, untilMs: number): void {
    if (node !== this.self.id) this.failedUntil.set(node, untilMs);
  }

  /**
   * `node` failed while we were walking right looking for a neighbour: keep the members before it
   * that failed too marked as well, so the walk goes on to the next member instead of starting
   * over at one whose mark just ran out (with every connect taking a timeout, it never would end).
   */
  markFailedInWalk(node: string, untilMs: number, nowMs: number): void {
    for (const id of this.walkRight()) {
      if (id === node) break;
      if (this.isFailed(id, nowMs)) this.failedUntil.set(id, Math.max(untilMs, this.failedUntil.get(id) ?? 0));
    }
    this.markFailed(node, untilMs);
  }

  clearFailure(node: string): void {
    this.failedUntil.delete(node);
  }

  isFailed(node: string, nowMs: number): boolean {
    const until = this.failedUntil.get(node);
    return until !== undefined && until > nowMs;
  }

  /** The member our outbound link should go to, or undefined when every other member is out. */
  right(nowMs: number): string | undefined {
    return this.walkRight().find((id) => !this.isFailed(id, nowMs));
  }

  /** Our right if nobody had failed. */
  preferredRight(): string | undefined {
    return this.walkRight()[0];
  }

  /** How many steps right from us `node` sits (1 = our preferred right); Infinity if unknown. */
  stepsRight(node: string): number {
    const i = this.walkRight().indexOf(node);
    return i < 0 ? Number.POSITIVE_INFINITY : i + 1;
  }

  /** How many steps left from us `node` sits (1 = our preferred left); Infinity if unknown. */
  stepsLeft(node: string): number {
    const i = this.walkRight().reverse().indexOf(node);
    return i < 0 ? Number.POSITIVE_INFINITY : i + 1;
  }

  /** Other members in the order met walking right from us. */
  private walkRight(): string[] {
    const i = this.members.findIndex((m) => m.id === this.self.id);
    const after = this.members.slice(i + 1).concat(this.members.slice(0, i));
    return after.map((m) => m.id);
  }
}
