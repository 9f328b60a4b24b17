/**
 * `livepatch ps`: the processes running under livepatch, found by their
 * control sockets in the runtime directory (`cli/processes.ts`), each with
 * its patches, and the installed patches and patch-directory files that
 * failed or wait in it; with `--all`,
 * the fleet report (`fleet.ts`).
 */
import path from 'node:path';
import { table } from '../format.js';
import type { CommandContext } from '../context.js';
import { describeProcesses } from '../processes.js';

export async function ps(ctx: CommandContext): Promise<number> {
  if (ctx.options.all) return (await import('./fleet.js')).psAll(ctx);
  const processes = await describeProcesses(ctx.runtimeDir);
  if (ctx.json) {
    ctx.out(JSON.stringify({ processes }, null, 2));
    return 0;
  }
  // The worker threads under livepatch, by thread id, in a process that has any.
  const threaded = processes.some((r) => !('error' in r) && r.threads.length > 0);
  const threadsOf = (r: (typeof processes)[number]) => (threaded ? ['error' in r ? '-' : r.threads.map((t) => t.thread).join(',') || '-'] : []);
  ctx.out(table(['PID', 'NODE', 'CONSISTENCY', ...(threaded ? ['THREADS'] : []), 'PATCHES', 'COMMAND'], processes.map((r) => {
    if ('error' in r) return [String(r.pid), '-', '-', ...threadsOf(r), '-', `(${r.error.message})`];
    const command = [path.basename(r.argv[0]), ...r.argv.slice(1)].join(' ');
    const failed = r.installed.filter((p) => p.state === 'failed').map((p) => p.name);
    // The patch directory's files that do not run as their directory says, with their state.
    const watched = (r.watch?.patches ?? []).filter((w) => w.state !== 'applied' && w.state !== 'applying').map((w) => `${w.file} (${w.state})`);
    const patches = [...r.patches.map((p) => p.name).filter((name) => !failed.includes(name)), ...failed.map((name) => `${name} (failed)`), ...watched];
    return [String(r.pid), r.node, r.consistency, ...threadsOf(r), patches.join(',') || '-', command];
  })));
  return 0;
}
