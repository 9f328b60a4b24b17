/**
 * A patch set as it is handed on (the environment of a thread or a forked
 * process) and as it is recorded for an application's group in the runtime
 * directory (`<app>.patchset`), written by `load --all` and read at start
 * (`inherit.ts`). This file reads no engine state, so that the CLI, which
 * writes records, does not bundle the engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkRuntimeDir } from '../control/runtime-dir.js';

/** A patch of a set, by its name and the file it was loaded from. */
export interface SetEntry {
  name: string;
  file: string;
}

/** A patch set as it is handed on: the application it belongs to, and its patches in stack order. */
export interface PatchSet {
  app: string;
  patches: SetEntry[];
}

/** The environment variable that hands a patch set to the threads and processes started from this one. */
export const PATCH_SET_ENV = 'LIVEPATCH_PATCH_SET';

/** Whether `value` is a patch set as a carrier (the environment, a record) holds one. */
export function isPatchSet(value: unknown): value is PatchSet {
  const set = value as PatchSet | null;
  return typeof set?.app === 'string' && Array.isArray(set.patches)
    && set.patches.every((e) => typeof e?.name === 'string' && typeof e?.file === 'string' && path.isAbsolute(e.file));
}

/** Parses a carrier's text; undefined when it holds no patch set. */
export function parsePatchSet(text: string | undefined): PatchSet | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isPatchSet(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The file that records an application's patch set in the runtime directory. */
export function groupRecordPath(runtimeDir: string, app: string): string {
  return path.join(runtimeDir, `${encodeURIComponent(app)}.patchset`);
}

/** The patch set recorded for `app`, or undefined when there is none (or it cannot be read). */
export function readGroupRecord(runtimeDir: string, app: string): PatchSet | undefined {
  const file = groupRecordPath(runtimeDir, app);
  let text: string;
  try {
    // Only a record in a runtime directory of this user, written by this user, is followed.
    checkRuntimeDir(runtimeDir);
    const stat = fs.lstatSync(file);
    if (!stat.isFile() || stat.uid !== (process.getuid?.() ?? 0)) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const set = parsePatchSet(text);
  return set?.app === app ? set : undefined;
}

/** Writes the group's record whole (a temporary file, then a rename), or removes it when the set is empty. */
export function writeGroupRecord(runtimeDir: string, set: PatchSet): void {
  checkRuntimeDir(runtimeDir);
  const file = groupRecordPath(runtimeDir, set.app);
  if (set.patches.length === 0) {
    fs.rmSync(file, { force: true });
    return;
  }
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(set)}\n`, { mode: 0o600 });
  fs.renameSync(temporary, file);
}
