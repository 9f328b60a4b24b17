/**
 * Patches a thread or a process takes as it starts, before its entry
 * module (docs/fleet.md):
 * - the patch set of the thread or process it was started from: every
 *   isolate keeps LIVEPATCH_PATCH_SET in its `process.env` up to date, and
 *   a worker thread and a `cluster.fork()`ed worker start with a copy of it;
 * - the patch set recorded for its application's group by `load --all`
 *   (`<runtime dir>/<app>.patchset`), for a process its manager restarts
 *   (pm2's daemon is not under livepatch, so no parent hands it a set).
 * As with installed patches, a patch that fails is logged and skipped: the
 * program always starts.
 */
import { listPatches, loadPatch } from '../host.js';
import { loadAtStart } from '../startup/installed.js';
import { parsePatchSet, PATCH_SET_ENV, readGroupRecord, type PatchSet } from './record.js';

/** The patches this isolate runs from files, in stack order. */
export function currentPatchSet(app: string): PatchSet {
  return { app, patches: listPatches().filter((p) => p.enabled && p.source !== null).map((p) => ({ name: p.name, file: p.source! })) };
}

/**
 * Writes this isolate's patch set into its `process.env`, so that a worker
 * thread it creates or a worker it forks from now on starts with it.
 */
export function publishPatchSet(app: string): void {
  const set = currentPatchSet(app);
  if (set.patches.length === 0) delete process.env[PATCH_SET_ENV];
  else process.env[PATCH_SET_ENV] = JSON.stringify(set);
}

/**
 * Loads each patch of `set` that is not loaded yet, in order; `from` names
 * where the set came from, for the log.
 */
export async function applyPatchSet(set: PatchSet, from: string): Promise<void> {
  for (const { name, file } of set.patches) {
    if (listPatches().some((p) => p.name === name)) continue;
    // Like an installed patch: a module that loads later and does not take it loads without it.
    await loadAtStart(`patch '${name}' of ${from} (${file})`, (signal) => loadPatch(file, { signal, origin: 'installed' }));
  }
}

/**
 * At start: the patch set handed down by the parent thread or process when
 * it belongs to the same application, else the one recorded for the
 * application's group.
 */
export async function applyInheritedPatches(app: string, runtimeDir: string | null): Promise<void> {
  const handed = parsePatchSet(process.env[PATCH_SET_ENV]);
  if (handed?.app === app) {
    await applyPatchSet(handed, 'the thread or process it started from');
    return;
  }
  const recorded = runtimeDir === null ? undefined : readGroupRecord(runtimeDir, app);
  if (recorded) await applyPatchSet(recorded, `the group '${app}'`);
}
