/**
 * `livepatch list`: the analog of `kpatch list`. The loaded patches with
 * their state, the tasks blocking a transition in progress, the currently
 * patched functions with their func stacks (top first), and the patches
 * installed for the process's application.
 */
import { installedPatches } from '../../install/dir.js';
import { blockingTable, stateLabel, table } from '../format.js';
import type { CommandContext } from '../context.js';
import { withTarget } from '../target.js';

export async function list(ctx: CommandContext): Promise<number> {
  return withTarget(ctx, async (client) => {
    const result = await client.request({ type: 'list' });
    // Every file in the install directory, with how it fared in this process.
    const installed = installedPatches(result.installDir).map((file) => ({
      ...file,
      ...(result.installed.find((s) => s.name === file.name) ?? { state: 'not loaded' }),
    }));
    if (ctx.json) {
      ctx.out(JSON.stringify({ ...result, installed }, null, 2));
      return 0;
    }
    ctx.out('Loaded patches:');
    for (const p of [...result.patches, ...result.pinned]) ctx.out(`${p.name} ${stateLabel(p)}`);
    const { transition } = result;
    if (transition && transition.blocking.length > 0) {
      ctx.out('');
      ctx.out(`Blocking tasks (${transition.switched}/${transition.total} switched to ${transition.target}):`);
      ctx.out(blockingTable(transition.blocking));
    }
    ctx.out('');
    ctx.out('Currently patched functions:');
    if (result.functions.length > 0) {
      ctx.out(table(['MODULE', 'FUNCTION', 'PATCHES'], result.functions.map((f) => [
        f.instance > 1 ? `${f.module}#${f.instance}` : f.module,
        `${f.function},${f.sympos}`,
        f.stack.join(' ') + (f.transition ? ' (transition)' : ''),
      ])));
    }
    ctx.out('');
    ctx.out('Installed patches:');
    for (const p of installed) {
      ctx.out(`${p.name} [${p.state}]${'error' in p && p.error ? ` ${p.error.code}: ${p.error.message}` : ''}`);
      if ('error' in p && p.error) ctx.out(`  hint: ${p.error.hint}`);
    }
    return 0;
  });
}
