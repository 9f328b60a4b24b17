/**
 * `livepatch load --all` and `unload --all`: a patch into every process of
 * an application's group (docs/fleet.md, "Loading into a group"), the
 * processes found by their sockets in the runtime directory and grouped by
 * the application name each one reports (`--app NAME`).
 *
 * Three ways to roll out, named, not flagged:
 * - `parallel` (the default): every process at once, each on its own; the
 *   ones that refused are listed, the others keep the patch;
 * - `atomic` (`--atomic`): every process at once, and when one refused,
 *   every one that enabled the patch is reverted;
 * - `rolling` (`--rolling N`): N processes at a time, stopping at the
 *   first batch with a failure; the ones not reached are `skipped`.
 *
 * After a load or unload that changed some process, the group's patch set
 * is recorded in the runtime directory (`fleet/inherit.ts`), so that a
 * process of the group that its manager restarts (pm2) starts with it.
 */
import fs from 'node:fs';
import { ControlClient, HELLO_TIMEOUT_MS } from '../control/client.js';
import { isLivepatchError, lpError, type ErrorJSON } from '../errors.js';
import { writeGroupRecord } from '../fleet/record.js';
import type { ProcessInfo, ProcessRole } from '../protocol.js';
import type { CommandContext } from './context.js';
import { exitCodeOf } from './exit.js';
import { table } from './format.js';
import { describeProcesses } from './processes.js';

export type Rollout = { kind: 'parallel' } | { kind: 'atomic' } | { kind: 'rolling'; batch: number };

/** What became of the patch in one process of the group. */
export interface MemberResult {
  pid: number;
  role: ProcessRole | null;
  /** `already`: the process ran this patch from this file before the command, which leaves it as it is. */
  result: 'enabled' | 'already' | 'disabled' | 'absent' | 'failed' | 'reverted' | 'skipped';
  /** From the command's start until this process completed its transition. */
  ms?: number;
  /** The threads that enabled it, in a process with worker threads. */
  threads?: number[];
  error?: ErrorJSON;
}

/** The least time a request is given, however little of --wait is left. */
const MIN_REQUEST_MS = 2000;
/** How often a process's transition is asked about while waiting for it. */
const POLL_MS = 1000;

/** The processes of the group: those of `--app`, or of the one application that runs under livepatch. */
async function members(ctx: CommandContext): Promise<{ app: string; members: ProcessInfo[] }> {
  const rows = await describeProcesses(ctx.runtimeDir);
  // A process of an earlier livepatch names no application, and joins no group.
  const answering = rows.filter((r): r is ProcessInfo => !('error' in r) && r.app !== '');
  let app = typeof ctx.options.app === 'string' ? ctx.options.app : undefined;
  if (app === undefined) {
    const apps = [...new Set(answering.map((r) => r.app))].sort();
    if (apps.length > 1) throw lpError('ERR_LP_AMBIGUOUS_APP', { detail: apps.join(', ') });
    app = apps[0];
  }
  const group = answering.filter((r) => r.app === app);
  if (app === undefined || group.length === 0) {
    throw lpError('ERR_LP_NO_PROCESS', { detail: app === undefined ? `under livepatch (no control socket in ${ctx.runtimeDir})` : `of application '${app}'` });
  }
  // A primary first: it hands the set to the workers it forks from then on.
  const rank = { primary: 0, worker: 1, process: 2 } as const;
  return { app, members: group.sort((a, b) => rank[a.role] - rank[b.role] || a.pid - b.pid) };
}

/** Runs `fn` on a connection to `pid`, within what is left of the command's deadline. */
async function withProcess<T>(ctx: CommandContext, pid: number, deadline: number, fn: (client: ControlClient, timeoutMs: () => number) => Promise<T>): Promise<T> {
  const timeoutMs = () => Math.max(deadline - Date.now(), MIN_REQUEST_MS);
  const client = await ControlClient.connect(ctx.runtimeDir, pid, { timeoutMs: Math.min(timeoutMs(), HELLO_TIMEOUT_MS) });
  try {
    return await fn(client, timeoutMs);
  } finally {
    client.close();
  }
}

/** Waits until `name` is no longer in transition in the process, or the deadline passes; says whether it completed. */
async function settled(client: ControlClient, name: string, deadline: number, timeoutMs: () => number): Promise<boolean> {
  let status = await client.request({ type: 'transition' }, { timeoutMs: timeoutMs() });
  while (status !== null && status.patch === name && Date.now() < deadline) {
    status = await client.request({ type: 'transition', waitMs: Math.min(deadline - Date.now(), POLL_MS) }, { timeoutMs: timeoutMs() });
  }
  return status === null || status.patch !== name;
}

/** Writes `enabled` of `name` in the process and waits for the transition; whether it completed in time. */
async function writeEnabled(client: ControlClient, name: string, value: '0' | '1', deadline: number, timeoutMs: () => number): Promise<boolean> {
  await client.request({ type: 'sys-write', path: `livepatch/${name}/enabled`, value }, { timeoutMs: timeoutMs() });
  return settled(client, name, deadline, timeoutMs);
}

/** A catalog error of one process as its row holds it; anything else is a bug, for cli/index.ts. */
function failure(pid: number, role: ProcessRole | null, err: unknown): MemberResult {
  // Not a catalog error: a bug, which cli/index.ts reports as one.
  if (!isLivepatchError(err)) throw err;
  return { pid, role, result: 'failed', error: err.toJSON() };
}

/**
 * Loads `file` into one process and waits for its transition. A cluster
 * primary takes the patch even when it runs none of the patched modules:
 * it holds it for the workers it forks. A transition still running at the
 * deadline is reversed, as `load` does.
 */
async function loadInto(ctx: CommandContext, member: ProcessInfo, file: string, started: number, deadline: number): Promise<MemberResult & { name?: string }> {
  const { pid, role } = member;
  const unloaded = ctx.options['allow-unloaded'] || role === 'primary' ? 'allow' : 'refuse';
  try {
    return await withProcess(ctx, pid, deadline, async (client, timeoutMs) => {
      const loaded = await client.request({ type: 'load', file, unloaded }, { timeoutMs: timeoutMs() });
      if (await settled(client, loaded.name, deadline, timeoutMs)) {
        return { pid, role, result: 'enabled' as const, ms: Date.now() - started, threads: loaded.threads, name: loaded.name };
      }
      await writeEnabled(client, loaded.name, '0', Date.now() + (deadline - started), timeoutMs).catch(() => false);
      throw lpError('ERR_LP_TIMEOUT', { patch: loaded.name, detail: 'its transition stalled; reverted' });
    });
  } catch (err) {
    if (isLivepatchError(err, 'ERR_LP_PATCH_EXISTS') && err.context.patch !== undefined && await runsFrom(ctx, pid, err.context.patch, file, deadline)) {
      return { pid, role, result: 'already', name: err.context.patch };
    }
    return failure(pid, role, err);
  }
}

/** Whether the process runs patch `name`, enabled, loaded from `file`: a rollout run again passes over it. */
async function runsFrom(ctx: CommandContext, pid: number, name: string, file: string, deadline: number): Promise<boolean> {
  try {
    const info = await withProcess(ctx, pid, deadline, (client, timeoutMs) => client.request({ type: 'patch', name }, { timeoutMs: timeoutMs() }));
    return info.enabled && info.source === fs.realpathSync(file);
  } catch {
    return false;
  }
}

/** Reverts a patch the command enabled in a process (`--atomic`, after another process refused it). */
async function revertIn(ctx: CommandContext, row: MemberResult, name: string, deadline: number): Promise<MemberResult> {
  try {
    return await withProcess(ctx, row.pid, deadline, async (client, timeoutMs) => {
      if (!(await writeEnabled(client, name, '0', deadline, timeoutMs))) throw lpError('ERR_LP_TIMEOUT', { patch: name, detail: 'its reversal stalled' });
      return { ...row, result: 'reverted' as const };
    });
  } catch (err) {
    return failure(row.pid, row.role, err);
  }
}

/** Records the group's patch set as a process of it runs it, for the processes of the group that start later. */
async function recordGroup(ctx: CommandContext, app: string, pid: number, deadline: number): Promise<void> {
  const { patches } = await withProcess(ctx, pid, deadline, (client, timeoutMs) => client.request({ type: 'list' }, { timeoutMs: timeoutMs() }));
  writeGroupRecord(ctx.runtimeDir, { app, patches: patches.filter((p) => p.enabled && p.source !== null).map((p) => ({ name: p.name, file: p.source! })) });
}

/** Prints the table (or the JSON) and throws ERR_LP_GROUP_FAILED when some process failed. */
function report(ctx: CommandContext, summary: Record<string, unknown>, rows: MemberResult[]): number {
  const failed = rows.filter((r) => r.result === 'failed');
  const error = failed.length === 0 ? null : lpError('ERR_LP_GROUP_FAILED', {
    patch: typeof summary.patch === 'string' ? summary.patch : undefined,
    detail: `${failed.length} of ${rows.length} processes (${failed.map((r) => r.pid).join(', ')})`,
  });
  if (ctx.json) {
    ctx.out(JSON.stringify({ ...summary, complete: error === null, processes: rows, ...(error ? { error: error.toJSON() } : {}) }, null, 2));
    return error === null ? 0 : exitCodeOf(error);
  }
  ctx.out(table(['PID', 'ROLE', 'RESULT', 'MS', 'ERROR'], rows.map((r) => [
    String(r.pid), r.role ?? '-', r.result, r.ms === undefined ? '' : String(r.ms), r.error ? `${r.error.code}: ${r.error.message}` : '',
  ])));
  // ERR_LP_GROUP_FAILED, after the table that says which process failed and why.
  if (error) throw error;
  return 0;
}

/** `load <file> --all [--app NAME] [--atomic | --rolling N]`. */
export async function loadGroup(ctx: CommandContext, file: string, rollout: Rollout, waitMs: number): Promise<number> {
  const started = Date.now();
  const deadline = started + waitMs;
  const { app, members: group } = await members(ctx);
  if (!ctx.json) ctx.out(`loading patch module: ${file} into ${group.length} process${group.length === 1 ? '' : 'es'} of '${app}' (${rollout.kind})`);
  let rows: (MemberResult & { name?: string })[] = [];
  if (rollout.kind === 'rolling') {
    for (let i = 0; i < group.length; i += rollout.batch) {
      rows.push(...await Promise.all(group.slice(i, i + rollout.batch).map((m) => loadInto(ctx, m, file, started, deadline))));
      if (rows.some((r) => r.result === 'failed')) break;
    }
    rows.push(...group.slice(rows.length).map((m): MemberResult => ({ pid: m.pid, role: m.role, result: 'skipped' })));
  } else {
    rows = await Promise.all(group.map((m) => loadInto(ctx, m, file, started, deadline)));
  }
  const name = rows.find((r) => r.name !== undefined)?.name;
  if (rollout.kind === 'atomic' && name !== undefined && rows.some((r) => r.result === 'failed')) {
    const revertBy = Date.now() + waitMs;
    rows = await Promise.all(rows.map((r) => (r.result === 'enabled' ? revertIn(ctx, r, name, revertBy) : r)));
  }
  const holder = rows.find((r) => r.result === 'enabled' || r.result === 'already');
  if (holder) await recordGroup(ctx, app, holder.pid, Date.now() + waitMs);
  return report(ctx, { patch: name ?? null, app, rollout: rollout.kind, ms: Date.now() - started }, rows.map(({ name: _, ...r }) => r));
}

/** `unload <name> --all [--app NAME]`: every process of the group that has the patch, at once. */
export async function unloadGroup(ctx: CommandContext, name: string, waitMs: number): Promise<number> {
  const started = Date.now();
  const deadline = started + waitMs;
  const { app, members: group } = await members(ctx);
  const rows = await Promise.all(group.map(async ({ pid, role }): Promise<MemberResult> => {
    if (!group.find((m) => m.pid === pid)!.patches.some((p) => p.name === name)) return { pid, role, result: 'absent' };
    try {
      return await withProcess(ctx, pid, deadline, async (client, timeoutMs) => {
        if (!(await writeEnabled(client, name, '0', deadline, timeoutMs))) {
          await writeEnabled(client, name, '1', Date.now() + waitMs, timeoutMs).catch(() => false);
          throw lpError('ERR_LP_TIMEOUT', { patch: name, detail: 'its disable stalled; reverted' });
        }
        return { pid, role, result: 'disabled' as const, ms: Date.now() - started };
      });
    } catch (err) {
      return failure(pid, role, err);
    }
  }));
  if (rows.every((r) => r.result === 'absent')) throw lpError('ERR_LP_NO_PATCH', { patch: name, detail: `in no process of '${app}'` });
  const holder = rows.find((r) => r.result === 'disabled');
  if (holder) await recordGroup(ctx, app, holder.pid, Date.now() + waitMs);
  return report(ctx, { patch: name, app, ms: Date.now() - started }, rows);
}
