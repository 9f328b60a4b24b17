/**
 * `livepatch ps`: the processes running under livepatch, found by their
 * control sockets in the runtime directory. Sockets of processes that are
 * gone are removed; a process that does not answer is listed as such.
 */
import path from 'node:path';
import { ControlClient, discoverProcesses } from '../../control/client.js';
import { isLivepatchError, type ErrorJSON } from '../../errors.js';
import type { ProcessInfo } from '../../protocol.js';
import { table } from '../format.js';
import type { CommandContext } from '../context.js';

/** `ps` waits this long for each process, so one blocked process does not hang the listing. */
const TIMEOUT_MS = 2000;

type Row = ProcessInfo | { pid: number; error: ErrorJSON };

export async function ps(ctx: CommandContext): Promise<number> {
  let pids: number[] = [];
  try {
    pids = discoverProcesses(ctx.runtimeDir);
  } catch (err) {
    // No runtime directory yet: no process of this user has started under
    // livepatch. Any other error of discoverProcesses is a catalog error.
    if (!isLivepatchError(err, 'ERR_LP_NO_PROCESS')) throw err;
  }
  const rows = await Promise.all(pids.map(async (pid): Promise<Row> => {
    let client: ControlClient | undefined;
    try {
      client = await ControlClient.connect(ctx.runtimeDir, pid, { timeoutMs: TIMEOUT_MS });
      return await client.request({ type: 'process' });
    } catch (err) {
      // Anything but a catalog error is a bug, for cli/index.ts to report as one.
      if (!isLivepatchError(err)) throw err;
      return { pid, error: err.toJSON() };
    } finally {
      client?.close();
    }
  }));
  // A process that exited between the listing and the connection is gone, not an error.
  const live = rows.filter((r) => !('error' in r) || r.error.code !== 'ERR_LP_NO_PROCESS');
  if (ctx.json) {
    ctx.out(JSON.stringify({ processes: live }, null, 2));
    return 0;
  }
  ctx.out(table(['PID', 'NODE', 'CONSISTENCY', 'PATCHES', 'COMMAND'], live.map((r) => {
    if ('error' in r) return [String(r.pid), '-', '-', '-', `(${r.error.message})`];
    const command = [path.basename(r.argv[0]), ...r.argv.slice(1)].join(' ');
    return [String(r.pid), r.node, r.consistency, r.patches.map((p) => p.name).join(',') || '-', command];
  })));
  return 0;
}
