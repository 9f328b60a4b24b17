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
import { lpError } from '../errors.js';
import { SIGNATURE_SUFFIX } from '../loader/signature.js';

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

/**
 * Copies a patch module into the install directory as `<name><ext>`, with
 * its signature when it has one. Refuses a name that is already installed.
 */
export function installPatch(file: string, name: string, dir: string): InstalledPatch {
  const ext = PATCH_FILE.exec(path.basename(file))?.[2];
  if (!ext) throw lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: a patch module ends in .js, .mjs, .ts or .mts` });
  const existing = installedPatches(dir).find((p) => p.name === name);
  if (existing) throw lpError('ERR_LP_ALREADY_INSTALLED', { patch: name, detail: existing.file });
  const target = path.join(dir, `${name}.${ext}`);
  const signed = fs.existsSync(file + SIGNATURE_SUFFIX);
  try {
    fs.mkdirSync(dir, { recursive: true });
    // A stale signature of an earlier install must not sit next to the new file.
    fs.rmSync(target + SIGNATURE_SUFFIX, { force: true });
    if (signed) fs.copyFileSync(file + SIGNATURE_SUFFIX, target + SIGNATURE_SUFFIX);
    fs.copyFileSync(file, target);
  } catch (err) {
    throw lpError('ERR_LP_IO', { patch: name, detail: `${target}: ${(err as Error).message}` }, { cause: err });
  }
  return { name, file: target, signed };
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
