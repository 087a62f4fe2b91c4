import type { HealthHost } from '@usher/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type NodeView, reachable, tally } from '../src/index.js';

const IP = '10.0.0.1';
const NODES = ['10.1.0.1:9090', '10.1.0.2:9090', '10.1.0.3:9090', '10.1.0.4:9090', '10.1.0.5:9090'];

/** Views from a compact spec: "F" failing, "O" ok, "-" no verdict yet; one letter per node in NODES order. */
function views(spec: string): NodeView[] {
  return [...spec].map((ch, i) => ({
    node: NODES[i] as string,
    verdicts: new Map(ch === '-' ? [] : [[IP, ch === 'F']]),
  }));
}

function host(state: 'up' | 'down' | 'manual'): HealthHost {
  return { ip: IP, down: state !== 'up', manualDown: state === 'manual', lastUpdownChange: 0 };
}

describe('the majority rule', () => {
  it.each<[string, 'failing' | 'ok' | undefined, string | undefined]>([
    // verdicts of the reachable nodes, agreed verdict, the node that applies it
    ['F', 'failing', NODES[0]],
    ['O', 'ok', NODES[0]],
    ['-', undefined, undefined],
    ['FF', 'failing', NODES[0]],
    ['FO', undefined, undefined],
    ['OF', undefined, undefined],
    ['F-', undefined, undefined],
    ['OFF', 'failing', NODES[1]],
    ['FOO', 'ok', NODES[1]],
    ['OOF', 'ok', NODES[0]],
    // one node with a bad link is outvoted
    ['OOOOF', 'ok', NODES[0]],
    // nodes without a verdict are reachable: they keep a minority from deciding
    ['FF--', undefined, undefined],
    ['FF-O', undefined, undefined],
    ['FFF-', 'failing', NODES[0]],
    ['-FF-F', 'failing', NODES[1]],
    ['OO-FF', undefined, undefined],
    ['OOOFF', 'ok', NODES[0]],
  ])('%s -> %s by %s', (spec, agreed, applier) => {
    const t = tally(IP, views(spec));
    expect(t.voters).toBe(spec.length);
    expect(t.agreed).toBe(agreed);
    expect(t.applier).toBe(applier);
  });

  it.each<['up' | 'down' | 'manual', string, string, 'down' | 'up' | undefined]>([
    // host state, verdicts, who asks, what that node does
    ['up', 'FFO', NODES[0] as string, 'down'],
    ['up', 'FFO', NODES[1] as string, undefined],
    ['up', 'FFO', NODES[2] as string, undefined],
    ['up', 'OFF', NODES[1] as string, 'down'],
    ['down', 'FFO', NODES[0] as string, undefined],
    ['down', 'OOF', NODES[0] as string, 'up'],
    ['down', 'FOO', NODES[1] as string, 'up'],
    ['down', 'FOO', NODES[0] as string, undefined],
    ['up', 'OOF', NODES[0] as string, undefined],
    // an operator's down holds against any majority
    ['manual', 'OOO', NODES[0] as string, undefined],
    ['manual', 'FFF', NODES[0] as string, undefined],
    // no majority, no change
    ['down', 'FO', NODES[1] as string, undefined],
    ['up', 'FO', NODES[0] as string, undefined],
  ])('%s host, %s, asked on %s: %s', (state, spec, self, action) => {
    expect(decide(host(state), tally(IP, views(spec)), self)).toBe(action);
  });

  it('lets at most one node act, whatever the views, as long as they agree', () => {
    const verdict = fc.constantFrom<'F' | 'O' | '-'>('F', 'O', '-');
    fc.assert(
      fc.property(fc.array(verdict, { minLength: 1, maxLength: 5 }), fc.constantFrom('up', 'down'), (spec, state) => {
        const v = views(spec.join(''));
        const t = tally(IP, v);
        const actors = v.filter((n) => decide(host(state as 'up' | 'down'), t, n.node) !== undefined);
        expect(actors.length).toBeLessThanOrEqual(1);
        // and a decision always follows a strict majority of all reachable nodes
        if (actors.length === 1) {
          const side = t.agreed === 'failing' ? t.failing : t.ok;
          expect(side * 2).toBeGreaterThan(v.length);
        }
      }),
    );
  });

  it('counts only nodes heard from within their report validity', () => {
    const v = (node: string): NodeView => ({ node, verdicts: new Map([[IP, true]]) });
    const got = reachable(
      [
        { view: v('a'), receivedAt: 1000, validMs: 500 },
        { view: v('b'), receivedAt: 600, validMs: 500 },
        { view: v('c'), receivedAt: 400, validMs: 500 },
      ],
      1100,
    );
    expect(got.map((x) => x.node)).toEqual(['a', 'b']);
  });
});
