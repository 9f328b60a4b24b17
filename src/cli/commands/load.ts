/**
 * `livepatch load <patch-file>` and `livepatch unload <name>`: the analogs
 * of `kpatch load` and `kpatch unload`. Both start a transition in the
 * process and wait for it (`--wait S`, 15 s by default, as kpatch's
 * POST_ENABLE_WAIT) while showing how many tasks have switched. A
 * transition still running at the deadline has stalled: the tasks that
 * block it are printed with the function they are suspended in, and the
 * transition is reversed (`enabled` written back) unless `--keep` leaves it
 * running, as kpatch reverts a load whose transition stalls.
 *
 * `load` refuses a patch naming a module that is not loaded, since a wrong
 * module id looks just like it (ERR_LP_NOT_LOADED); `--allow-unloaded`
 * keeps the kernel's semantics of applying it when the module loads.
 *
 * `--wait` bounds the command: connecting, the load (or the write that
 * starts an unload) and the transition share its seconds, and reversing a
 * stalled transition gets as many again. Each request carries the deadline
 * it was given, so that neither a patch whose top level never finishes nor
 * a process that stops can hold the command past it.
 */
import path from 'node:path';
import type { ControlClient } from '../../control/client.js';
import type { TransitionStatus } from '../../protocol.js';
import { isLivepatchError, lpError, type LivepatchError } from '../../errors.js';
import { exitCodeOf } from '../exit.js';
import { blockingTable, millis } from '../format.js';
import type { CommandContext } from '../context.js';
import { loadGroup, unloadGroup, type Rollout } from '../group.js';
import { withTarget } from '../target.js';

const DEFAULT_WAIT_SECONDS = 15;
/** How often progress is refreshed while the process waits for completion. */
const POLL_MS = 250;
/** The least time a request is given, however little of --wait is left: one that must be made must have time to be answered. */
const MIN_REQUEST_MS = 2000;

/** One of the command's deadlines: what is left of it, and what a request made now may take. */
class Deadline {
  readonly #at: number;

  constructor(ms: number) {
    this.#at = Date.now() + ms;
  }

  get left(): number {
    return this.#at - Date.now();
  }

  /** Options for a request made now: what is left, but at least MIN_REQUEST_MS. */
  get request(): { timeoutMs: number } {
    return { timeoutMs: Math.max(this.left, MIN_REQUEST_MS) };
  }
}

const seconds = (ms: number) => `${ms / 1000} second${ms === 1000 ? '' : 's'}`;

function waitOption(ctx: CommandContext): number {
  const value = ctx.options.wait ?? String(DEFAULT_WAIT_SECONDS);
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw lpError('ERR_LP_USAGE', { detail: `--wait takes a number of seconds, not '${value}'` });
  }
  return n * 1000;
}

/**
 * Waits until `name` is no longer in transition, drawing progress; returns
 * null then, or the last status when the deadline passes first. The
 * process answers a `transition` request as soon as the transition
 * completes, so completion is seen at once, not at the next poll.
 */
async function waitForPatch(ctx: CommandContext, client: ControlClient, name: string, waitMs: number, deadline: Deadline): Promise<TransitionStatus | null> {
  let shown = '';
  let status = await client.request({ type: 'transition' }, deadline.request);
  while (status !== null && status.patch === name) {
    const progress = `${status.switched}/${status.total} tasks switched`;
    if (!ctx.json && shown === '') ctx.out(`waiting (up to ${seconds(waitMs)}) for the ${status.target === 'patched' ? 'patching' : 'unpatching'} transition to complete...`);
    if (!ctx.json && ctx.tty) {
      const width = 24;
      const done = Math.round((status.switched / Math.max(status.total, 1)) * width);
      ctx.write(`\r[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${progress}`);
    } else if (!ctx.json && progress !== shown) {
      ctx.out(progress);
    }
    shown = progress;
    const { left } = deadline;
    if (left <= 0) break;
    status = await client.request({ type: 'transition', waitMs: Math.min(left, POLL_MS) }, deadline.request);
  }
  if (!ctx.json && ctx.tty && shown !== '') ctx.write('\r\x1b[K');
  return status !== null && status.patch === name ? status : null;
}

interface Stall {
  stalled: TransitionStatus['blocking'];
  reverted: boolean;
  error: LivepatchError;
}

/**
 * A transition stalled: prints the blocking tasks, then reverses it by
 * writing `revert` to the patch's `enabled` unless --keep, and waits as long
 * again for the reversal. Returns what happened; the error is ERR_LP_TIMEOUT.
 */
async function handleStall(ctx: CommandContext, client: ControlClient, status: TransitionStatus, revert: '0' | '1', waitMs: number): Promise<Stall> {
  const name = status.patch;
  if (!ctx.json) {
    ctx.out('patch transition has stalled!');
    ctx.out('Stalled tasks:');
    ctx.out(blockingTable(status.blocking));
  }
  if (ctx.options.keep) {
    const error = lpError('ERR_LP_TIMEOUT', { patch: name, detail: `stalled for ${seconds(waitMs)}; left in transition (--keep)` });
    return { stalled: status.blocking, reverted: false, error };
  }
  if (!ctx.json) ctx.out(`patch '${name}' did not complete its transition, reverting...`);
  const deadline = new Deadline(waitMs);
  try {
    await client.request({ type: 'sys-write', path: `livepatch/${name}/enabled`, value: revert }, deadline.request);
  } catch (err) {
    // The transition completed in the meantime: a finished unload leaves
    // nothing to re-enable, and a finished load is disabled by the write.
    // Any other error of the process is a catalog error and passes through.
    if (!isLivepatchError(err, 'ERR_LP_NO_ENTRY')) throw err;
  }
  const reverting = await waitForPatch(ctx, client, name, waitMs, deadline);
  const detail = reverting
    ? `stalled for ${seconds(waitMs)}; the reversal stalled too and is still in transition`
    : `stalled for ${seconds(waitMs)}; reverted`;
  return { stalled: status.blocking, reverted: reverting === null, error: lpError('ERR_LP_TIMEOUT', { patch: name, detail }) };
}

/** Reports a stall: JSON mode prints one object and returns the exit code; human mode throws. */
function reportStall(ctx: CommandContext, patch: string, stall: Stall): number {
  // ERR_LP_TIMEOUT, made by handleStall.
  if (!ctx.json) throw stall.error;
  ctx.out(JSON.stringify({ patch, complete: false, stalled: stall.stalled, reverted: stall.reverted, error: stall.error.toJSON() }, null, 2));
  return exitCodeOf(stall.error);
}

/**
 * `load --no-wait`: the transition has started; says how far it is and
 * returns 0, leaving the process to finish it (`list` and `tasks` follow it).
 */
async function reportStarted(ctx: CommandContext, client: ControlClient, name: string, ms: number): Promise<number> {
  const status = await client.request({ type: 'transition' });
  const running = status !== null && status.patch === name;
  if (ctx.json) {
    ctx.out(JSON.stringify({ patch: name, complete: !running, ms, ...(running ? { switched: status.switched, total: status.total } : {}) }, null, 2));
  } else if (running) {
    ctx.out(`transition started: ${status.switched}/${status.total} tasks switched; \`livepatch list\` and \`livepatch tasks\` follow it`);
  } else {
    ctx.out(`transition complete (${ms} ms in all)`);
  }
  return 0;
}

/**
 * `--all`, `--app`, `--atomic` and `--rolling N` choose a group of
 * processes instead of one (`cli/group.ts`); undefined without --all.
 */
function groupRollout(ctx: CommandContext): Rollout | undefined {
  const { all, app, atomic, rolling } = ctx.options;
  if (!all) {
    if (app !== undefined || atomic || rolling !== undefined) throw lpError('ERR_LP_USAGE', { detail: '--app, --atomic and --rolling choose how a group is patched: they go with --all' });
    return undefined;
  }
  if (ctx.options.pid !== undefined || ctx.options.thread !== undefined) throw lpError('ERR_LP_USAGE', { detail: '--all addresses every process of a group: it takes neither -p nor -t' });
  if (ctx.options['no-wait'] || ctx.options.keep) throw lpError('ERR_LP_USAGE', { detail: '--all waits for every process and reverts a stalled one: it takes neither --no-wait nor --keep' });
  if (atomic && rolling !== undefined) throw lpError('ERR_LP_USAGE', { detail: '--atomic and --rolling are two ways to roll out: choose one' });
  if (rolling === undefined) return atomic ? { kind: 'atomic' } : { kind: 'parallel' };
  const batch = Number(rolling);
  if (typeof rolling !== 'string' || !Number.isSafeInteger(batch) || batch < 1) throw lpError('ERR_LP_USAGE', { detail: `--rolling takes a number of processes at a time, not '${rolling}'` });
  return { kind: 'rolling', batch };
}

export async function load(ctx: CommandContext): Promise<number> {
  const [file] = ctx.rest;
  const rollout = groupRollout(ctx);
  if (rollout) return loadGroup(ctx, path.resolve(file), rollout, waitOption(ctx));
  const noWait = ctx.options['no-wait'] === true;
  if (noWait && (ctx.options.wait !== undefined || ctx.options.keep)) {
    throw lpError('ERR_LP_USAGE', { detail: '--no-wait does not wait, so it takes neither --wait nor --keep' });
  }
  // Without waiting for the transition, the load request still has --wait's default.
  const waitMs = waitOption(ctx);
  const abs = path.resolve(file);
  const deadline = new Deadline(waitMs);
  return withTarget(ctx, async (client) => {
    if (!ctx.json) ctx.out(`loading patch module: ${abs}`);
    const started = Date.now();
    const loaded = await client.request({ type: 'load', file: abs, unloaded: ctx.options['allow-unloaded'] ? 'allow' : 'refuse' }, deadline.request);
    if (!ctx.json && loaded.compileMs !== null) ctx.out(`read and compiled (${millis(loaded.compileMs)}), enabled`);
    if (noWait) return reportStarted(ctx, client, loaded.name, Date.now() - started);
    const status = await waitForPatch(ctx, client, loaded.name, waitMs, deadline);
    if (status) return reportStall(ctx, loaded.name, await handleStall(ctx, client, status, '0', waitMs));
    const ms = Date.now() - started;
    // A write of 0 to `enabled` meanwhile reversed the enable and freed the patch.
    const info = (await client.request({ type: 'list' }, deadline.request)).patches.find((p) => p.name === loaded.name);
    if (!info) throw lpError('ERR_LP_TIMEOUT', { patch: loaded.name, detail: 'its enable was reversed by a write to enabled' });
    const { compileMs, transitionMs } = info;
    if (ctx.json) ctx.out(JSON.stringify({ patch: loaded.name, complete: true, ms, compileMs, transitionMs, info }, null, 2));
    else ctx.out(`transition complete (${millis(transitionMs ?? 0)}; ${ms} ms in all)`);
    return 0;
  }, deadline.request);
}

export async function unload(ctx: CommandContext): Promise<number> {
  const [name] = ctx.rest;
  const waitMs = waitOption(ctx);
  if (ctx.options.all) {
    if (ctx.options.pid !== undefined || ctx.options.thread !== undefined || ctx.options.keep) {
      throw lpError('ERR_LP_USAGE', { detail: '--all addresses every process of a group: it takes neither -p, -t nor --keep' });
    }
    return unloadGroup(ctx, name, waitMs);
  }
  if (ctx.options.app !== undefined) throw lpError('ERR_LP_USAGE', { detail: '--app chooses a group: it goes with --all' });
  const deadline = new Deadline(waitMs);
  return withTarget(ctx, async (client) => {
    // A patch that is not loaded is refused before anything is printed: the
    // process says why (replaced by another patch, ERR_LP_REPLACED, or
    // never loaded, ERR_LP_NO_PATCH).
    await client.request({ type: 'patch', name }, deadline.request);
    if (!ctx.json) ctx.out(`disabling patch '${name}'`);
    const started = Date.now();
    try {
      await client.request({ type: 'sys-write', path: `livepatch/${name}/enabled`, value: '0' }, deadline.request);
    } catch (err) {
      // Freed since the request above, or a pinned (forced and freed) patch.
      if (isLivepatchError(err, 'ERR_LP_NO_ENTRY')) throw lpError('ERR_LP_NO_PATCH', { patch: name });
      // The process's catalog error (ERR_LP_ALREADY, ERR_LP_BUSY, …).
      throw err;
    }
    const status = await waitForPatch(ctx, client, name, waitMs, deadline);
    if (status) return reportStall(ctx, name, await handleStall(ctx, client, status, '1', waitMs));
    const ms = Date.now() - started;
    // The patch is freed when its disable completes; one that is still
    // listed had its disable reversed by someone else.
    const listed = (await client.request({ type: 'list' }, deadline.request)).patches.find((p) => p.name === name);
    if (listed) throw lpError('ERR_LP_TIMEOUT', { patch: name, detail: 'its disable was reversed by a write to enabled' });
    if (ctx.json) ctx.out(JSON.stringify({ patch: name, complete: true, ms }, null, 2));
    else ctx.out(`transition complete (${ms} ms)`);
    return 0;
  }, deadline.request);
}
