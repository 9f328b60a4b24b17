/**
 * Installed patches at process start, the analog of `kpatch.service`: every
 * patch in the application's install directory (`install/dir.ts`) is
 * loaded, in name order, before the application's entry module, so each
 * one applies to its modules as they load. The host API is imported only
 * when there is a patch to load.
 */
import { describeThrown } from '../errors.js';
import { installedPatches, type InstalledPatch } from '../install/dir.js';
import { pr } from '../log.js';

/** How long the start waits for one patch to load: a patch that installed loaded in far less. */
const START_LOAD_MS = 10_000;

/**
 * One patch loaded at start, before the application's entry module: `load`
 * gets START_LOAD_MS, and its transition is waited for (no application code
 * runs yet, so it completes at once, and the next enable finds no transition
 * in progress). A failure is logged as `failed to load <what>`, and the
 * start goes on: the program always starts.
 */
export async function loadAtStart(what: string, load: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const { waitForTransition } = await import('../host.js');
  const limit = new AbortController();
  // Ref'd on purpose: while it runs, the program's start waits for this
  // patch, and a top level that never finishes must not end the process
  // as an unsettled top-level await. It is cleared as soon as the load ends.
  const timer = setTimeout(() => limit.abort(`within ${START_LOAD_MS / 1000} seconds`), START_LOAD_MS);
  try {
    await load(limit.signal);
    await waitForTransition();
  } catch (err) {
    pr('warn', `failed to load ${what}: ${describeThrown(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Loads every installed patch, in name order, at process start (from
 * `livepatch/register`, before the application's entry module). A patch that
 * fails is logged and skipped: the program always starts.
 */
export async function applyInstalledPatches(dir: string): Promise<void> {
  let patches: InstalledPatch[];
  try {
    patches = installedPatches(dir);
  } catch (err) {
    pr('warn', `cannot read installed patches in ${dir}: ${(err as Error).message}`);
    return;
  }
  if (patches.length === 0) return;
  const { loadInstalledPatch } = await import('../host.js');
  for (const { name, file } of patches) {
    await loadAtStart(`installed patch '${name}' (${file})`, (signal) => loadInstalledPatch(name, file, signal));
  }
}
