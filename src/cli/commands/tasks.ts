/**
 * `livepatch tasks`: every task of the process with its patch state (the
 * `/proc/<pid>/patch_state` analog), the ones blocking a transition first,
 * with the function each is suspended in.
 */
import { table } from '../format.js';
import type { CommandContext } from '../context.js';
import { withTarget } from '../target.js';

export async function tasks(ctx: CommandContext): Promise<number> {
  return withTarget(ctx, async (client) => {
    const { tasks: all, transition } = await client.request({ type: 'tasks' });
    const target = transition ? (transition.target === 'patched' ? 1 : 0) : null;
    const blocking = (t: { patchState: number }) => target !== null && t.patchState !== target;
    const sorted = [...all].sort((a, b) => Number(blocking(b)) - Number(blocking(a)) || a.id - b.id);
    if (ctx.json) {
      ctx.out(JSON.stringify({ transition, tasks: sorted }, null, 2));
      return 0;
    }
    ctx.out(transition
      ? `transition: '${transition.patch}' to ${transition.target}, ${transition.switched}/${transition.total} tasks switched`
      : 'transition: none');
    ctx.out(table(['TASK', 'NAME', 'PATCH_STATE', 'SUSPENDED IN'], sorted.map((t) => [
      String(t.id), t.name, String(t.patchState), blocking(t) ? (t.blockedOn ?? '(not checked yet)') : '',
    ])));
    return 0;
  });
}
