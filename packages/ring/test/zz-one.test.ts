import { it } from 'vitest';
import { chaosForDebug } from './ring-random.test.js';
it('one seed', async () => {
  const seed = Number(process.env.SEED);
  const sim = await chaosForDebug(seed, Number(process.env.NODES));
  const USERS = Array.from({ length: 60 }, (_, i) => `r${i}@example.com`);
  for (const u of USERS.slice(0, 20)) for (const id of sim.liveIds()) await sim.run(sim.route(id, u)).catch(() => {});
  const v = sim.checker.violations[0];
  if (!v) { console.log('no violation'); return; }
  console.log(JSON.stringify(v));
  const h = String(v.userHash);
  console.log(sim.trace.filter((l) => l.includes(h) || /partition|heal|crash|start |ready|host|link closed|lost|10\.0\.0/.test(l)).join('\n'));
}, 600_000);
