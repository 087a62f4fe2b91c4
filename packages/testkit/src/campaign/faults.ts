import type { DovecotCluster } from '../dovecot-backend.js';
import { adminCommand } from './admin-client.js';
import type { PresenceChecker } from './checker.js';
import type { Violation } from './ledger.js';
import type { LinkProxies } from './link-proxy.js';
import type { CampaignNode } from './nodes.js';
import type { Fault } from './schedule.js';

/** What faults act on. */
export interface World {
  readonly nodes: readonly CampaignNode[];
  readonly links: LinkProxies;
  readonly cluster: DovecotCluster;
  readonly backends: readonly string[];
  readonly users: readonly string[];
  /** Per node, when usherd has a director-admin socket. */
  readonly adminSockets: readonly string[] | undefined;
  readonly checker: PresenceChecker;
  readonly violations: Violation[];
  readonly startedAt: number;
  log(line: string): void;
}

export type Heal = () => Promise<void>;

/**
 * Injects one fault; resolves with how to undo it (undefined for admin operations, which are done
 * when they return). Admin replies other than OK are logged, not violations: TRYAGAIN during a move
 * or NOTFOUND for a host a concurrent change removed are answers a real operator gets too.
 */
export async function inject(w: World, f: Fault): Promise<Heal | undefined> {
  switch (f.kind) {
    case 'kill-node': {
      const node = w.nodes[f.node] as CampaignNode;
      await node.kill();
      return async () => {
        try {
          await node.start();
        } catch (e) {
          w.violations.push({
            kind: 'node-restart-failed',
            atMs: Date.now() - w.startedAt,
            detail: `${node.name}: ${(e as Error).message}\n${node.logTail()}`,
          });
        }
        w.checker.healed();
      };
    }
    case 'freeze-node': {
      const node = w.nodes[f.node] as CampaignNode;
      node.freeze();
      return async () => {
        node.thaw();
        w.checker.healed();
      };
    }
    case 'cut-link':
    case 'blackhole-link': {
      const a = (w.nodes[f.a] as CampaignNode).id;
      const b = (w.nodes[f.b] as CampaignNode).id;
      w.links.setBoth(a, b, f.kind === 'cut-link' ? 'reset' : 'blackhole');
      return async () => {
        w.links.setBoth(a, b, 'up');
        w.checker.healed();
      };
    }
    case 'isolate-node': {
      const me = (w.nodes[f.node] as CampaignNode).id;
      const others = w.nodes.filter((n) => n.id !== me).map((n) => n.id);
      for (const o of others) w.links.setBoth(me, o, 'blackhole');
      return async () => {
        for (const o of others) w.links.setBoth(me, o, 'up');
        w.checker.healed();
      };
    }
    case 'stop-backend': {
      const ip = w.backends[f.backend] as string;
      await w.cluster.stopBackend(ip);
      return async () => {
        try {
          await w.cluster.startBackend(ip);
        } catch (e) {
          w.violations.push({
            kind: 'backend-unreachable',
            atMs: Date.now() - w.startedAt,
            detail: `backend ${ip} did not restart: ${(e as Error).message}`,
          });
        }
      };
    }
    case 'move-user':
      await admin(w, f.node, ['USER-MOVE', w.users[f.user] as string, w.backends[f.backend] as string]);
      return undefined;
    case 'flush-host':
      await admin(w, f.node, ['HOST-RESET-USERS', w.backends[f.backend] as string]);
      return undefined;
    case 'remove-host': {
      // the safe way to retire a backend (reference §4.6: HOST-REMOVE alone drops users without a
      // kick): stop new placements, move its users with kicks, then remove it
      const ip = w.backends[f.backend] as string;
      await admin(w, f.node, ['HOST-DOWN', ip]);
      await admin(w, f.node, ['HOST-RESET-USERS', ip]);
      await admin(w, f.node, ['HOST-REMOVE', ip]);
      return undefined;
    }
    case 'unsafe-remove-host':
      await admin(w, f.node, ['HOST-REMOVE', w.backends[f.backend] as string]);
      return undefined;
    case 'add-host': {
      const ip = w.backends[f.backend] as string;
      await admin(w, f.node, ['HOST-SET', ip]);
      // users whose placement changed are moved to it (with kicks), as an operator would
      await admin(w, f.node, ['HOST-RESET-USERS']);
      return undefined;
    }
  }
}

async function admin(w: World, node: number, fields: string[]): Promise<void> {
  const n = w.nodes[node] as CampaignNode;
  const socket = w.adminSockets?.[node];
  if (!socket) return;
  if (n.state !== 'running') {
    w.log(`    (admin ${fields[0]} skipped: ${n.name} is ${n.state})`);
    return;
  }
  try {
    const reply = await adminCommand(socket, fields);
    if (reply !== 'OK') w.log(`    admin ${fields.join(' ')} via ${n.name}: ${reply}`);
  } catch (e) {
    w.log(`    admin ${fields.join(' ')} via ${n.name} failed: ${(e as Error).message}`);
  }
}
