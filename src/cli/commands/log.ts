/**
 * `livepatch log [-f]`: the process's log ring buffer, the dmesg analog.
 * Each line carries the seconds since the process started, as dmesg's
 * do since boot. `-f` then prints new lines as they are logged, until it
 * is interrupted or the process exits.
 */
import type { LogRecord } from '../../log.js';
import type { CommandContext } from '../context.js';
import { withTarget } from '../target.js';

export async function log(ctx: CommandContext): Promise<number> {
  return withTarget(ctx, async (client) => {
    const print = (records: LogRecord[], startTime: number) => {
      for (const r of records) {
        if (ctx.json) ctx.out(JSON.stringify(r));
        else ctx.out(`[${((r.time - startTime) / 1000).toFixed(3).padStart(10)}] ${r.text}`);
      }
    };
    if (!ctx.options.follow) {
      const { records, startTime } = await client.request({ type: 'log' });
      if (ctx.json) ctx.out(JSON.stringify({ records, startTime }, null, 2));
      else print(records, startTime);
      return 0;
    }
    // Followed output is one JSON record per line, so a reader can act on each as it comes.
    await client.follow({ type: 'log', follow: true }, ({ records, startTime }) => print(records, startTime));
    return 0;
  });
}
