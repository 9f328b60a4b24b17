/**
 * `livepatch sys [<path> [value]]`: reads and writes the state tree
 * (`engine/sysfs.ts`), the `/sys/kernel/livepatch` analog. An attribute
 * reads as sysfs prints it (`"1\n"`); a directory, or no path, lists every
 * entry below it with its mode and value. A write prints nothing, as
 * `echo 1 > …/force` does, and fails with the kernel's errors.
 */
import { table } from '../format.js';
import type { CommandContext } from '../context.js';
import { withTarget } from '../target.js';

export async function sys(ctx: CommandContext): Promise<number> {
  const [path = '', value] = ctx.rest;
  return withTarget(ctx, async (client) => {
    if (value !== undefined) {
      const written = await client.request({ type: 'sys-write', path, value });
      if (ctx.json) ctx.out(JSON.stringify(written, null, 2));
      return 0;
    }
    const read = await client.request({ type: 'sys-read', path });
    if (ctx.json) ctx.out(JSON.stringify(read, null, 2));
    else if (read.kind === 'attr') ctx.write(read.value);
    else {
      ctx.out(table(['MODE', 'PATH', 'VALUE'], read.entries.map((e) => [
        e.mode === 'dir' ? 'd' : e.mode, e.mode === 'dir' ? `${e.path}/` : e.path, e.value?.trimEnd() ?? '',
      ])));
    }
    return 0;
  });
}
