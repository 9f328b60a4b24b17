/**
 * Choosing the process a command talks to: `-p PID`, or the only process
 * running under livepatch in the runtime directory.
 */
import { ControlClient, discoverProcesses, HELLO_TIMEOUT_MS } from '../control/client.js';
import { lpError } from '../errors.js';
import type { CommandContext } from './context.js';

/**
 * Connects to the chosen process, runs `fn` with the connection and closes
 * it. Throws ERR_LP_NO_PROCESS when no process runs under livepatch, and
 * ERR_LP_AMBIGUOUS_PROCESS when several do and -p does not choose.
 * `connect.timeoutMs` bounds the wait for the process's hello (5 s by
 * default, and never more).
 */
export async function withTarget<T>(ctx: CommandContext, fn: (client: ControlClient) => Promise<T>, connect?: { timeoutMs: number }): Promise<T> {
  const thread = threadOption(ctx);
  let pid: number;
  if (ctx.options.pid !== undefined) {
    pid = Number(ctx.options.pid);
    if (!Number.isSafeInteger(pid) || pid <= 0) throw lpError('ERR_LP_USAGE', { detail: `-p takes a process id, not '${ctx.options.pid}'` });
  } else {
    const pids = discoverProcesses(ctx.runtimeDir);
    if (pids.length === 0) throw lpError('ERR_LP_NO_PROCESS', { detail: `under livepatch (no control socket in ${ctx.runtimeDir})` });
    if (pids.length > 1) throw lpError('ERR_LP_AMBIGUOUS_PROCESS', { detail: pids.join(', ') });
    pid = pids[0];
  }
  const client = await ControlClient.connect(ctx.runtimeDir, pid, { timeoutMs: Math.min(connect?.timeoutMs ?? HELLO_TIMEOUT_MS, HELLO_TIMEOUT_MS) });
  client.thread = thread;
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** `-t TID`: a thread id, 0 for the main thread; undefined without -t (the process as a whole). */
function threadOption(ctx: CommandContext): number | undefined {
  if (ctx.options.thread === undefined) return undefined;
  const thread = Number(ctx.options.thread);
  if (!Number.isSafeInteger(thread) || thread < 0) throw lpError('ERR_LP_USAGE', { detail: `-t takes a thread id, not '${ctx.options.thread}'` });
  return thread;
}
