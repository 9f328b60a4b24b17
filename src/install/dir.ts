/**
 * The install directory: the analog of kpatch's `/var/lib/kpatch/<kver>/`.
 * `livepatch install` copies a patch module (and its `.sig`) into it, named
 * by the patch's name; every process started under livepatch loads every
 * installed patch, in name order, before the application's modules load
 * (`startup/installed.ts`, the `kpatch.service` analog).
 *
 * The install directory is `$LIVEPATCH_INSTALL_DIR`, else `installDir` in
 * the application's livepatch configuration (relative to the application
 * root), else `<root>/.livepatch/installed/`. LIVEPATCH_INSTALLED=0 skips
 * the installed patches at start, the analog of booting with
 * `kpatch.enable=0`.
 *
 * An installed patch module is a single file: it may import `livepatch` and
 * packages resolvable from the install directory, not files next to the
 * original.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeThrown, lpError } from '../errors.js';
import { distrustedDirectory, readRegularFile } from '../loader/files.js';
import { MAX_PATCH_FILE_BYTES } from '../loader/patch-module.js';
import { MAX_SIGNATURE_BYTES, SIGNATURE_SUFFIX } from '../loader/signature.js';

const PATCH_FILE = /^(.+)\.(js|mjs|ts|mts)$/;

export interface InstalledPatch {
  name: string;
  file: string;
  signed: boolean;
}

/** The installed patches, in name order; none when the directory does not exist. */
export function installedPatches(dir: string): InstalledPatch[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw lpError('ERR_LP_IO', { detail: `the install directory ${dir}: ${(err as Error).message}` }, { cause: err });
  }
  const out: InstalledPatch[] = [];
  for (const entry of names) {
    const match = PATCH_FILE.exec(entry);
    if (!match) continue;
    const file = path.join(dir, entry);
    out.push({ name: match[1], file, signed: names.includes(entry + SIGNATURE_SUFFIX) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Writes a file as a temporary one in its directory, then renames it into place: a reader sees the old file or the whole new one. */
async function writeAtomically(file: string, bytes: Buffer, mode: number): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const handle = await fs.promises.open(temporary, 'wx', mode);
    try {
      // The mode the file is created with passes through the umask; this one does not.
      await handle.chmod(mode);
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temporary, file);
  } finally {
    await fs.promises.rm(temporary, { force: true });
  }
}

/** The bytes of a patch file's signature, or null when it has none. */
async function readSignatureOf(file: string): Promise<Buffer | null> {
  const signatureFile = file + SIGNATURE_SUFFIX;
  if (!fs.existsSync(signatureFile)) return null;
  const read = await readRegularFile(signatureFile, MAX_SIGNATURE_BYTES, 'a signature file', 'anyone');
  if ('bytes' in read) return read.bytes;
  throw lpError('ERR_LP_IO', { detail: `${signatureFile}: ${'refusal' in read ? read.refusal : read.untrusted}` });
}

/** The bytes and mode of a patch file to install: a regular file, at its real path, that no other user can change. */
async function readOriginal(file: string, name: string): Promise<{ bytes: Buffer; mode: number }> {
  let real: string;
  try {
    real = await fs.promises.realpath(file);
  } catch (err) {
    throw lpError('ERR_LP_PATCH_LOAD', { patch: name, detail: `${file}: ${describeThrown(err)}` }, { cause: err });
  }
  const read = await readRegularFile(real, MAX_PATCH_FILE_BYTES, 'a patch file', 'ours');
  if ('untrusted' in read) throw lpError('ERR_LP_UNTRUSTED_FILE', { patch: name, detail: read.untrusted });
  if ('refusal' in read) throw lpError('ERR_LP_PATCH_LOAD', { patch: name, detail: `${file}: ${read.refusal}` });
  return read;
}

/**
 * Copies a patch module into the install directory as `<name><ext>`, with
 * its signature when it has one; refuses a name that is already
 * installed. The original, and the install directory, must be files no
 * other user can change, as every start-up requires of what it loads. Each
 * copy belongs to the installing user, 0644 when the original is readable
 * by others and 0600 otherwise, and is renamed into place whole.
 */
export async function installPatch(file: string, name: string, dir: string): Promise<InstalledPatch> {
  const ext = PATCH_FILE.exec(path.basename(file))?.[2];
  if (!ext) throw lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: a patch module ends in .js, .mjs, .ts or .mts` });
  const existing = installedPatches(dir).find((p) => p.name === name);
  if (existing) throw lpError('ERR_LP_ALREADY_INSTALLED', { patch: name, detail: existing.file });
  const source = await readOriginal(file, name);
  const signature = await readSignatureOf(file);
  const target = path.join(dir, `${name}.${ext}`);
  const mode = (source.mode & 0o004) !== 0 ? 0o644 : 0o600;
  let untrusted: string | null;
  try {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
    untrusted = await distrustedDirectory(dir);
  } catch (err) {
    throw lpError('ERR_LP_IO', { patch: name, detail: `${dir}: ${describeThrown(err)}` }, { cause: err });
  }
  if (untrusted) throw lpError('ERR_LP_UNTRUSTED_FILE', { patch: name, detail: untrusted });
  try {
    // The signature goes first, so that the patch file, once it is there, has its signature with it.
    if (signature) await writeAtomically(target + SIGNATURE_SUFFIX, signature, mode);
    else await fs.promises.rm(target + SIGNATURE_SUFFIX, { force: true });
    await writeAtomically(target, source.bytes, mode);
  } catch (err) {
    throw lpError('ERR_LP_IO', { patch: name, detail: `${target}: ${describeThrown(err)}` }, { cause: err });
  }
  return { name, file: target, signed: signature !== null };
}

/** Removes an installed patch and its signature; returns the files removed. */
export function uninstallPatch(name: string, dir: string): string[] {
  const installed = installedPatches(dir).find((p) => p.name === name);
  if (!installed) throw lpError('ERR_LP_NOT_INSTALLED', { patch: name, detail: dir });
  const removed = installed.signed ? [installed.file, installed.file + SIGNATURE_SUFFIX] : [installed.file];
  try {
    for (const file of removed) fs.rmSync(file);
  } catch (err) {
    throw lpError('ERR_LP_IO', { patch: name, detail: (err as Error).message }, { cause: err });
  }
  return removed;
}
