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

/** How long the start waits for one installed patch to load: a patch that installed loaded in far less. */
const INSTALLED_LOAD_MS = 10_000;

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
  const { loadInstalledPatch, waitForTransition } = await import('../host.js');
  for (const { name, file } of patches) {
    const limit = new AbortController();
    // Ref'd on purpose: while it runs, the program's start waits for this
    // patch, and a top level that never finishes must not end the process
    // as an unsettled top-level await. It is cleared as soon as the load ends.
    const timer = setTimeout(() => limit.abort(`within ${INSTALLED_LOAD_MS / 1000} seconds`), INSTALLED_LOAD_MS);
    try {
      await loadInstalledPatch(name, file, limit.signal);
      // No application code runs yet, so this completes at once; waiting
      // keeps the next enable from finding a transition in progress.
      await waitForTransition();
    } catch (err) {
      pr('warn', `failed to load installed patch '${name}' (${file}): ${describeThrown(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
