/**
 * `livepatch ps --all`: the fleet report of a host. For every process of
 * this user under livepatch (found in the runtime directory, as `ps`
 * finds them): its patch set, the state of each patch in Canonical
 * Livepatch's words, and a transition in progress with the tasks that
 * block it, so that an operator sees at once which processes still run
 * old code. A process that does not answer is listed with its error.
 *
 * A patch's state: `applied` (enabled, transition complete), `applying`
 * (in its patching transition, or being loaded from the patch directory),
 * `unapplied` (being disabled, or in the patch directory and deliberately
 * not running), `apply-failed` and `check-failed` (with the coded reason:
 * an installed patch or a patch-directory file that did not load).
 */
import { ControlClient } from '../../control/client.js';
import { isLivepatchError, type ErrorJSON } from '../../errors.js';
import type { ProcessInfo, Results, TransitionStatus, WatchState } from '../../protocol.js';
import type { CommandContext } from '../context.js';
import { blockingTable, table } from '../format.js';
import { describeProcesses } from '../processes.js';

/** How long each process may take to answer. */
const TIMEOUT_MS = 2000;

export interface FleetPatch {
  name: string | null;
  state: WatchState;
  /** Where it came from: `load` (the CLI or the host API), `installed`, or the patch directory's file (`watch:<file>`). */
  origin: string;
  /** When its state last changed, in milliseconds since the epoch, where the process knows it. */
  since?: number;
  error?: ErrorJSON;
  note?: string;
}

/**
 * A process of the report: its `process` answer, whatever fields its
 * version gives, with `patches` as their states and its transition; or the
 * error of a process that did not answer.
 */
export type FleetRow =
  | (Omit<ProcessInfo, 'patches'> & { patches: FleetPatch[]; transition: TransitionStatus | null })
  | { pid: number; error: ErrorJSON };

/** The patches of one process, each once, with its state: the engine's list, then what failed or waits. */
function patchesOf(info: ProcessInfo, list: Results['list']): FleetPatch[] {
  const watched = info.watch?.patches ?? [];
  const out: FleetPatch[] = list.patches.map((p) => {
    const file = watched.find((w) => w.name === p.name && (w.state === 'applied' || w.state === 'applying'));
    const installed = info.installed.some((i) => i.name === p.name);
    return {
      name: p.name,
      state: p.transition ? (p.enabled ? 'applying' : 'unapplied') : 'applied',
      origin: file ? `watch:${file.file}` : installed ? 'installed' : 'load',
      ...(file ? { since: file.since } : {}),
    };
  });
  for (const w of watched) {
    if (w.state === 'applied' || w.state === 'applying') continue;
    out.push({ name: w.name, state: w.state, origin: `watch:${w.file}`, since: w.since, ...(w.error ? { error: w.error } : {}), ...(w.note ? { note: w.note } : {}) });
  }
  for (const i of info.installed) {
    if (i.state === 'failed') out.push({ name: i.name, state: 'apply-failed', origin: 'installed', ...(i.error ? { error: i.error } : {}) });
  }
  return out;
}

async function describeOne(runtimeDir: string, info: ProcessInfo): Promise<FleetRow> {
  const { pid } = info;
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(runtimeDir, pid, { timeoutMs: TIMEOUT_MS });
    const list = await client.request({ type: 'list' }, { timeoutMs: TIMEOUT_MS });
    return { ...info, patches: patchesOf(info, list), transition: list.transition };
  } catch (err) {
    // Anything but a catalog error is a bug, for cli/index.ts to report as one.
    if (!isLivepatchError(err)) throw err;
    return { pid, error: err.toJSON() };
  } finally {
    client?.close();
  }
}

/** The fleet report of every process in the runtime directory. */
export async function fleetReport(runtimeDir: string): Promise<FleetRow[]> {
  // `ps`'s discovery: the processes that answer `process`, with the errors of those that do not.
  const found = await describeProcesses(runtimeDir);
  const rows = await Promise.all(found.map((r) => ('error' in r ? r : describeOne(runtimeDir, r))));
  return rows.filter((r) => !('error' in r) || r.error.code !== 'ERR_LP_NO_PROCESS');
}

const clock = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(11, 19));

export async function psAll(ctx: CommandContext): Promise<number> {
  const processes = await fleetReport(ctx.runtimeDir);
  if (ctx.json) {
    ctx.out(JSON.stringify({ processes }, null, 2));
    return 0;
  }
  const rows: string[][] = [];
  for (const r of processes) {
    if ('error' in r) {
      rows.push([String(r.pid), '-', '-', '-', '-', `(${r.error.message})`]);
      continue;
    }
    if (r.patches.length === 0) rows.push([String(r.pid), '-', '-', '-', '-', '']);
    for (const p of r.patches) {
      const detail = p.error ? `${p.error.code}: ${p.error.message}` : p.note ?? '';
      rows.push([String(r.pid), p.name ?? '-', p.state, clock(p.since), p.origin, detail]);
    }
  }
  ctx.out(table(['PID', 'PATCH', 'STATE', 'SINCE', 'FROM', 'DETAIL'], rows));
  for (const r of processes) {
    if ('error' in r || !r.transition) continue;
    const t = r.transition;
    ctx.out('');
    ctx.out(`${r.pid}: '${t.patch}' in transition to ${t.target}, ${t.switched}/${t.total} tasks switched${t.blocking.length > 0 ? ', blocked by:' : ''}`);
    if (t.blocking.length > 0) ctx.out(blockingTable(t.blocking));
  }
  return 0;
}
