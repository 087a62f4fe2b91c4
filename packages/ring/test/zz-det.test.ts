import { it } from 'vitest';
import { chaosForDebug } from './ring-random.test.js';
it('many seeds', async () => {
  const bad: string[] = [];
  let routes = 0, exempt = 0, kicks = 0, conflicts = 0, timeouts = 0;
  for (let seed = 1; seed <= Number(process.env.N ?? 100); seed++) {
    const nodes = 3 + (seed % 14);
    try {
      const sim = await chaosForDebug(seed * 7919, nodes);
      const USERS = Array.from({ length: 60 }, (_, i) => `r${i}@example.com`);
      for (const u of USERS.slice(0, 20)) for (const id of sim.liveIds()) await sim.run(sim.route(id, u));
      routes += sim.trace.filter((l) => l.includes(' route ')).length;
      kicks += sim.trace.filter((l) => l.includes(' kick ')).length;
      conflicts += sim.log.filter((l) => l.includes('redirected')).length;
      timeouts += sim.log.filter((l) => l.includes('Timeout because')).length;
      exempt += sim.checker.exempted.length;
      if (sim.checker.violations.length) {
        const v = sim.checker.violations[0]!;
        bad.push(`seed ${seed * 7919} nodes ${nodes}: ${sim.checker.violations.length} violations`);
        if (bad.length === 1) console.log(sim.trace.filter((l) => l.includes(String(v.userHash)) || /partition|heal|crash|start |ready/.test(l)).join('\n'));
      }
      if (sim.checker.split(sim.scheduler.now()).length) bad.push(`seed ${seed * 7919}: split`);
      await sim.stopAll();
    } catch (e) {
      bad.push(`seed ${seed * 7919} nodes ${nodes}: ${String(e).slice(0, 300)}`);
    }
  }
  console.log('STATS', { routes, exempt, kicks, conflicts, timeouts });
  console.log('BAD\n' + bad.join('\n'));
}, 600_000);
