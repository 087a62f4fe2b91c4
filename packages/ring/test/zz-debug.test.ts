import { it } from 'vitest';
import { chaosForDebug } from './ring-random.test.js';
it('debug', async () => {
  const sim = await chaosForDebug(Number(process.env.SEED), Number(process.env.NODES));
  const v = sim.checker.violations[0];
  if (!v) { console.log('no violation'); return; }
  const h = String(v.userHash);
  console.log(sim.trace.filter((l) => l.includes(h) || /partition|heal|crash|start|host|sync|ready|link closed|move/.test(l)).join('\n'));
});
