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
    const sorted = [...all].sort((a, b) => Number(blocking(b)) - Number(blocking(a)) || (a.thread ?? 0) - (b.thread ?? 0) || a.id - b.id);
    if (ctx.json) {
      ctx.out(JSON.stringify({ transition, tasks: sorted }, null, 2));
      return 0;
    }
    ctx.out(transition
      ? `transition: '${transition.patch}' to ${transition.target}, ${transition.switched}/${transition.total} tasks switched`
      : 'transition: none');
    // Task ids are per thread: a process with worker threads shows whose each task is (0 is the main thread).
    const threaded = sorted.some((t) => t.thread !== undefined);
    ctx.out(table([...(threaded ? ['THREAD'] : []), 'TASK', 'NAME', 'PATCH_STATE', 'SUSPENDED IN'], sorted.map((t) => [
      ...(threaded ? [String(t.thread ?? 0)] : []),
      String(t.id), t.name, String(t.patchState), blocking(t) ? (t.blockedOn ?? '(not checked yet)') : '',
    ])));
    return 0;
  });
}
