/**
 * What a patch directory holds, as the watch (`watcher.ts`) reads it: the
 * patch files, each with a fingerprint of the version there, and which of
 * them have settled.
 *
 * The rules, which docs/fleet.md states for operators:
 * - a patch file is a name ending in `.js`, `.mjs`, `.ts` or `.mts` that
 *   does not start with a dot (a declaration file, `.d.ts`, is none); any
 *   other name is someone's temporary file (`.fix.js.tmp`, `fix.js.part`,
 *   `fix.js~`) or Kubernetes' own (`..data`, `..2026_11_26_…`), and is left
 *   alone;
 * - a file is followed through symlinks (a ConfigMap volume's files are
 *   symlinks through `..data`), so a swap of `..data` changes the
 *   fingerprint of every file at once;
 * - the fingerprint covers the file and its `.sig`: a signature that
 *   arrives after its patch is a new version of it;
 * - a version is taken once it has settled: it has not changed for
 *   SETTLE_MS, seen so either across scans or from its times. A file that
 *   is still being written keeps changing, and is not taken.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SIGNATURE_SUFFIX } from '../loader/signature.js';

/** How long a version must stay unchanged before it is taken. */
export const SETTLE_MS = 200;

const PATCH_FILE = /^[^.].*\.(?:js|mjs|ts|mts)$/;
const DECLARATION = /\.d\.m?ts$/;

/** Whether a name in the directory is a patch file (see the rules above). */
export function isPatchFileName(name: string): boolean {
  return PATCH_FILE.test(name) && !DECLARATION.test(name);
}

/** One patch file of the directory as a scan found it. */
export interface ListedFile {
  /** Its name in the directory. */
  name: string;
  /** Identifies the version: device, inode, size and times of the file and of its signature. */
  fingerprint: string;
  /** Its size in bytes, for the log. */
  size: number;
  /** When it last changed (the later of mtime and ctime), in milliseconds since the epoch. */
  changedAt: number;
}

function fingerprintOf(stat: fs.Stats | null): string {
  return stat ? `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : '-';
}

/** stat, following symlinks; null when nothing is there (a dangling link mid-swap). */
async function statOrNull(file: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // listPatchFiles lists the file with the system's reason, for its load to report as a coded error.
    throw err;
  }
}

/**
 * The patch files of `dir`, in name order. Rejects when the directory
 * cannot be read. A file that cannot be examined is listed with a
 * fingerprint saying why, so that loading it reports the error.
 */
export async function listPatchFiles(dir: string): Promise<ListedFile[]> {
  const names = (await fs.promises.readdir(dir)).filter(isPatchFileName).sort();
  const out: ListedFile[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const stat = await statOrNull(file);
      if (!stat) continue;
      const signature = await statOrNull(file + SIGNATURE_SUFFIX);
      out.push({
        name,
        fingerprint: `${fingerprintOf(stat)}/${fingerprintOf(signature)}`,
        size: stat.size,
        changedAt: Math.max(stat.mtimeMs, stat.ctimeMs, signature?.mtimeMs ?? 0, signature?.ctimeMs ?? 0),
      });
    } catch (err) {
      out.push({ name, fingerprint: `unreadable:${(err as NodeJS.ErrnoException).code}`, size: 0, changedAt: 0 });
    }
  }
  return out;
}

/**
 * Tells which listed versions have settled. Each scan passes what it
 * listed; the answer holds the files unchanged for SETTLE_MS, and `wakeIn`
 * says when the next of the others settles if it stays unchanged.
 */
export class Settling {
  readonly #firstSeen = new Map<string, { fingerprint: string; at: number }>();

  settle(listed: ListedFile[], now: number): { settled: ListedFile[]; wakeIn: number | null } {
    const present = new Set(listed.map((f) => f.name));
    for (const name of this.#firstSeen.keys()) if (!present.has(name)) this.#firstSeen.delete(name);
    const settled: ListedFile[] = [];
    let wakeIn: number | null = null;
    for (const file of listed) {
      let seen = this.#firstSeen.get(file.name);
      if (seen?.fingerprint !== file.fingerprint) {
        // A version first seen here has been unchanged since its last change, as far as its times tell.
        seen = { fingerprint: file.fingerprint, at: Math.min(now, file.changedAt || now) };
        this.#firstSeen.set(file.name, seen);
      }
      const left = seen.at + SETTLE_MS - now;
      if (left <= 0) settled.push(file);
      else wakeIn = Math.min(wakeIn ?? left, left);
    }
    return { settled, wakeIn };
  }
}
