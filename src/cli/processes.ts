/**
 * Every process under livepatch in the runtime directory, as each answers
 * the `process` request: what `ps` lists and what `installed` reports the
 * state of installed patches from. A process that does not answer within a
 * short time is listed with its error, so one blocked process never hangs
 * the listing; one that exited meanwhile is left out.
 */
import { ControlClient, discoverProcesses } from '../control/client.js';
import { isLivepatchError, type ErrorJSON } from '../errors.js';
import type { ProcessInfo } from '../protocol.js';

/** How long each process may take to answer. */
const TIMEOUT_MS = 2000;

export type ProcessRow = ProcessInfo | { pid: number; error: ErrorJSON };

/**
 * A process started under an earlier livepatch answers without the fields
 * added since (protocol 1 grows by fields only): it belongs to no
 * application's group (`app` is empty), has no worker threads behind its
 * socket, and its transition is not reported here.
 */
function withDefaults(info: ProcessInfo): ProcessInfo {
  return { ...info, app: info.app ?? '', role: info.role ?? 'process', transition: info.transition ?? null, threads: info.threads ?? [] };
}

export async function describeProcesses(runtimeDir: string): Promise<ProcessRow[]> {
  let pids: number[] = [];
  try {
    pids = discoverProcesses(runtimeDir);
  } catch (err) {
    // No runtime directory yet: no process of this user has started under
    // livepatch. Any other error of discoverProcesses is a catalog error.
    if (!isLivepatchError(err, 'ERR_LP_NO_PROCESS')) throw err;
  }
  const rows = await Promise.all(pids.map(async (pid): Promise<ProcessRow> => {
    let client: ControlClient | undefined;
    try {
      client = await ControlClient.connect(runtimeDir, pid, { timeoutMs: TIMEOUT_MS });
      return withDefaults(await client.request({ type: 'process' }, { timeoutMs: TIMEOUT_MS }));
    } catch (err) {
      // Anything but a catalog error is a bug, for cli/index.ts to report as one.
      if (!isLivepatchError(err)) throw err;
      return { pid, error: err.toJSON() };
    } finally {
      client?.close();
    }
  }));
  // A process that exited between the listing and the connection is gone, not an error.
  return rows.filter((r) => !('error' in r) || r.error.code !== 'ERR_LP_NO_PROCESS');
}
