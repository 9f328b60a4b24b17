/**
 * `livepatch info <name>`: one patch as the process sees it, its state-tree
 * attributes, system states, and each object and function with the hash
 * of the original it runs against (and the one it was built for).
 */
import { millis, stateLabel } from '../format.js';
import type { CommandContext } from '../context.js';
import { withTarget } from '../target.js';

export async function info(ctx: CommandContext): Promise<number> {
  const [name] = ctx.rest;
  return withTarget(ctx, async (client) => {
    const p = await client.request({ type: 'patch', name });
    if (ctx.json) {
      ctx.out(JSON.stringify(p, null, 2));
      return 0;
    }
    const flag = (b: boolean) => (b ? '1' : '0');
    ctx.out(`Patch information for ${p.name}:`);
    ctx.out(`state:        ${stateLabel(p)}`);
    ctx.out(`enabled:      ${flag(p.enabled)}`);
    ctx.out(`transition:   ${flag(p.transition)}`);
    ctx.out(`forced:       ${flag(p.forced)}`);
    ctx.out(`replace:      ${flag(p.replace)}`);
    ctx.out(`stack_order:  ${p.stackOrder}`);
    ctx.out(`source:       ${p.source ?? '-'}`);
    const timing = [
      p.compileMs === null ? '' : `compiled in ${millis(p.compileMs)}`,
      p.transitionMs === null ? '' : `last transition ${millis(p.transitionMs)}`,
    ].filter(Boolean);
    ctx.out(`timing:       ${timing.join(', ') || '-'}`);
    ctx.out(`states:       ${p.states.map((s) => `${s.id} (version ${s.version})`).join(', ') || '-'}`);
    ctx.out('objects:');
    for (const o of p.objects) {
      const loaded = o.instances === 0 ? 'not loaded' : `${o.instances} instance${o.instances > 1 ? 's' : ''}`;
      ctx.out(`  ${o.module}: patched ${flag(o.patched)}, ${loaded}${o.dynamic ? ', dynamic' : ''}`);
      for (const f of o.funcs) {
        const facts = [
          f.nop ? 'nop' : '',
          f.hashes.length > 0 ? `hash ${[...new Set(f.hashes)].join(' ')}` : '',
          f.oldHash ? `built for ${f.oldHash}` : '',
          f.transition ? 'transition' : '',
        ].filter(Boolean);
        ctx.out(`    ${f.name},${f.sympos}${facts.length > 0 ? `: ${facts.join(', ')}` : ''}`);
      }
    }
    return 0;
  });
}
