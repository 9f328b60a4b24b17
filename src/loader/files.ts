/**
 * Reading the files a process takes code or trust from: patch modules and
 * their signatures. Only a regular file of bounded size is read. It is
 * opened without blocking (a FIFO with no writer would hold the open) and
 * without following a symlink at its last step, and checked with fstat on
 * the descriptor it is then read from, so that what is checked is what is
 * read. Everything runs on libuv's threads, off the event loop.
 */
import fs from 'node:fs';
import { describeThrown } from '../errors.js';

/** The bytes of a file, or why it was not read, for the caller's coded error. */
export type FileRead = { bytes: Buffer } | { refusal: string };

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

/** Reads `file` when it is a regular file of at most `maxBytes`; `what` names such a file in a refusal ("a patch file"). */
export async function readRegularFile(file: string, maxBytes: number, what: string): Promise<FileRead> {
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
    // The size fstat gave bounds the read: a file that grows meanwhile is read as it was.
    const bytes = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: bytes.subarray(0, filled) };
  } catch (err) {
    return { refusal: describeThrown(err) };
  } finally {
    // What was read stands whether or not the descriptor closes cleanly.
    await handle.close().catch(() => {});
  }
}
