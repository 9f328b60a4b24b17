/**
 * The runtime directory: where each process under livepatch keeps its
 * control socket `<pid>.sock` and authentication token `<pid>.token`, so
 * that the CLI can find processes by listing it, and, when it converges to
 * a patch directory, its status file `<pid>.status.json`.
 *
 * `$LIVEPATCH_RUNTIME_DIR`, else the usual one: `$XDG_RUNTIME_DIR/livepatch`
 * (a per-user directory the system provides), else `/tmp/livepatch-<uid>`.
 * Node cannot read a Unix socket peer's uid (SO_PEERCRED), so the directory
 * is what keeps other users out: it must be a real directory (not a
 * symlink), owned by the user, with no group or other permissions. Nothing
 * here loosens or repairs a directory that fails the check.
 *
 * Anyone can create `/tmp/livepatch-<uid>` before the user does. A usual
 * directory that is not ours is therefore passed over, loudly, for
 * `~/.livepatch/run`, which only the user can create; the CLI makes the
 * same choice, so it finds the processes there. A directory the
 * environment names is used or refused, never passed over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envValue } from '../env.js';
import { lpError } from '../errors.js';

/** Why a directory with these stats is not a runtime directory of this user; null when it is one. */
function problemOf(stat: fs.Stats): string | null {
  const uid = process.getuid?.() ?? 0;
  if (!stat.isDirectory()) return 'is not a directory';
  if (stat.uid !== uid) return `is owned by uid ${stat.uid}, not by uid ${uid}`;
  if ((stat.mode & 0o077) !== 0) return `has mode ${(stat.mode & 0o777).toString(8)}; it must be 700`;
  return null;
}

/** The usual runtime directory, passed over because it is not ours, and why. */
export interface PassedOver {
  dir: string;
  problem: string;
}

/** The runtime directory, and the usual one when it was passed over. */
export function chooseRuntimeDir(env: NodeJS.ProcessEnv = process.env): { dir: string; passedOver: PassedOver | null } {
  const named = envValue(env, 'LIVEPATCH_RUNTIME_DIR');
  if (named !== undefined) return { dir: path.resolve(named), passedOver: null };
  const xdg = envValue(env, 'XDG_RUNTIME_DIR');
  const usual = xdg === undefined ? `/tmp/livepatch-${process.getuid?.() ?? 0}` : path.join(xdg, 'livepatch');
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(usual);
  } catch {
    // Missing (made at start) or unreadable (refused by the check): either way it is the usual one.
    return { dir: usual, passedOver: null };
  }
  const problem = problemOf(stat);
  if (problem === null) return { dir: usual, passedOver: null };
  return { dir: path.join(os.homedir(), '.livepatch', 'run'), passedOver: { dir: usual, problem } };
}

export function socketPathOf(dir: string, pid: number): string {
  return path.join(dir, `${pid}.sock`);
}

export function tokenPathOf(dir: string, pid: number): string {
  return path.join(dir, `${pid}.token`);
}

/** The status file of a process that converges to a patch directory (`watch/status.ts`). */
export function statusPathOf(dir: string, pid: number): string {
  return path.join(dir, `${pid}.status.json`);
}

/**
 * Throws ERR_LP_PERMISSION unless `dir` is a directory owned by this user
 * with no group or other permissions; ERR_LP_NO_PROCESS when it does not
 * exist (no process of this user has started under livepatch).
 */
export function checkRuntimeDir(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw lpError('ERR_LP_NO_PROCESS', { detail: `under livepatch: the runtime directory ${dir} does not exist` });
    throw lpError('ERR_LP_PERMISSION', { detail: `cannot use the runtime directory ${dir} (${code})` });
  }
  const problem = problemOf(stat);
  if (problem !== null) throw lpError('ERR_LP_PERMISSION', { detail: `the runtime directory ${dir} ${problem}` });
}

/** Creates the runtime directory with mode 0700 when it is missing (its parents too), then checks it. */
export function prepareRuntimeDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkRuntimeDir(dir);
}
