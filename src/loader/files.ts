/**
 * Reading the files a process takes code or trust from: patch modules and
 * their signatures. Only a regular file of bounded size is read. It is
 * opened without blocking (a FIFO with no writer would hold the open) and
 * without following a symlink at its last step, and checked with fstat on
 * the descriptor it is then read from, so that what is checked is what is
 * read. Everything runs on libuv's threads, off the event loop.
 *
 * A file the process runs as code must be one no other user can change,
 * as OpenSSH requires of `authorized_keys`: the file, and every directory
 * above it, belongs to this process's user or to root, and neither its
 * group nor others may write it. A directory others may write is allowed
 * when it is sticky (as /tmp is): no one else can then replace what is ours
 * in it, and what is ours is checked at the next step down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeThrown } from '../errors.js';

/**
 * The bytes of a file and its mode; or why it was not read (`refusal`, for
 * the caller's coded error), or which file or directory another user could
 * change (`untrusted`, for ERR_LP_UNTRUSTED_FILE).
 */
export type FileRead = { bytes: Buffer; mode: number } | { refusal: string } | { untrusted: string };

/**
 * Whose files are read: `ours` (only what no other user can change, for
 * code and keys) or `anyone` (for signatures, which the key checks).
 */
export type FileTrust = 'ours' | 'anyone';

/** What a file that is not a regular one is, for a refusal. */
function typeOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;
/** S_ISVTX: only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

/** Why another user could change a file or directory with these stats; null when no one but us and root can. */
function distrust(stat: fs.Stats, uid: number): string | null {
  const mode = (stat.mode & 0o7777).toString(8);
  const kind = stat.isDirectory() ? 'a directory ' : '';
  if (stat.uid !== 0 && stat.uid !== uid) return `it belongs to uid ${stat.uid}`;
  if (stat.isDirectory() && (stat.mode & STICKY) !== 0) return null;
  if ((stat.mode & 0o002) !== 0) return `it is ${kind}writable by others (mode ${mode})`;
  if ((stat.mode & 0o020) !== 0) return `it is ${kind}writable by its group (mode ${mode})`;
  return null;
}

/**
 * The nearest directory at or above `dir` (its real path) that another
 * user could change, with why; null when there is none. Rejects when a
 * directory cannot be examined.
 */
export async function distrustedDirectory(dir: string): Promise<string | null> {
  const uid = process.geteuid?.() ?? 0;
  for (let at = await fs.promises.realpath(dir); ; at = path.dirname(at)) {
    const why = distrust(await fs.promises.lstat(at), uid);
    if (why) return `${at}: ${why}`;
    if (at === path.dirname(at)) return null;
  }
}

/**
 * Reads `file` when it is a regular file of at most `maxBytes` that `trust`
 * accepts; `what` names such a file in a refusal ("a patch file").
 */
export async function readRegularFile(file: string, maxBytes: number, what: string, trust: FileTrust): Promise<FileRead> {
  if (trust === 'ours') {
    let untrusted: string | null;
    try {
      untrusted = await distrustedDirectory(path.dirname(file));
    } catch (err) {
      return { refusal: describeThrown(err) };
    }
    if (untrusted) return { untrusted };
  }
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, OPEN_FLAGS);
  } catch (err) {
    return { refusal: describeThrown(err) };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { refusal: `it is not a regular file but ${typeOf(stat)}` };
    if (stat.size > maxBytes) return { refusal: `it is ${stat.size} bytes, more than the ${maxBytes} ${what} may be` };
    const why = trust === 'ours' ? distrust(stat, process.geteuid?.() ?? 0) : null;
    if (why) return { untrusted: `${file}: ${why}` };
    // The size fstat gave bounds the read: a file that grows meanwhile is read as it was.
    const bytes = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: bytes.subarray(0, filled), mode: stat.mode };
  } catch (err) {
    return { refusal: describeThrown(err) };
  } finally {
    // What was read stands whether or not the descriptor closes cleanly.
    await handle.close().catch(() => {});
  }
}
