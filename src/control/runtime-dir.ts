/**
 * The runtime directory: where each process under livepatch keeps its
 * control socket `<pid>.sock` and authentication token `<pid>.token`, so
 * that the CLI can find processes by listing it.
 *
 * `$LIVEPATCH_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/livepatch`, else
 * `/tmp/livepatch-<uid>`. Node cannot read a Unix socket peer's uid
 * (SO_PEERCRED), so the directory is what keeps other users out: it must be
 * a real directory (not a symlink), owned by the user, with no group or
 * other permissions. Nothing here loosens or repairs a directory that fails
 * the check; a directory someone else prepared is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lpError } from '../errors.js';

export function runtimeDirOf(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIVEPATCH_RUNTIME_DIR) return path.resolve(env.LIVEPATCH_RUNTIME_DIR);
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'livepatch');
  return `/tmp/livepatch-${process.getuid?.() ?? 0}`;
}

export function socketPathOf(dir: string, pid: number): string {
  return path.join(dir, `${pid}.sock`);
}

export function tokenPathOf(dir: string, pid: number): string {
  return path.join(dir, `${pid}.token`);
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
  const uid = process.getuid?.() ?? 0;
  if (!stat.isDirectory()) throw lpError('ERR_LP_PERMISSION', { detail: `the runtime directory ${dir} is not a directory` });
  if (stat.uid !== uid) throw lpError('ERR_LP_PERMISSION', { detail: `the runtime directory ${dir} is owned by uid ${stat.uid}, not by uid ${uid}` });
  if ((stat.mode & 0o077) !== 0) {
    throw lpError('ERR_LP_PERMISSION', { detail: `the runtime directory ${dir} has mode ${(stat.mode & 0o777).toString(8)}; it must be 700` });
  }
}

/** Creates the runtime directory with mode 0700 when it is missing, then checks it. */
export function prepareRuntimeDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkRuntimeDir(dir);
}
