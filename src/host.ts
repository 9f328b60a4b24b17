/**
 * The host API: what programs, tests, the control plane and the CLI use to
 * drive the engine. Engine steps must run from the event loop with an empty
 * stack (a transition must never switch the calling task in the middle of a
 * synchronous call chain), so the calls that start transitions defer to the
 * next turn of the event loop and return promises.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { traceLoad } from './channels.js';
import type { PatchDefinition } from './definition.js';
import * as core from './engine/core.js';
import { failedPatches, findPatch, listedPatches, pinnedPatches as pinnedList, replacedBy as replacerOf } from './engine/patches.js';
import { allOps } from './engine/patch.js';
import type { KlpPatch, PatchOrigin } from './engine/records.js';
import {
  blockingTasks, getTargetState, getTransitionPatch, transitionIdle, transitionProgress,
} from './engine/transition.js';
import { isLivepatchError, lpError } from './errors.js';
import type {
  InstalledStatus, ModuleInfo, PatchCheckInfo, PatchedFunction, PatchInfo, TaskInfo, TransitionStatus, UnloadedModules,
} from './protocol.js';
import { importPatchModule } from './loader/patch-module.js';
import type { SymbolMeta } from './runtime/abi.js';
import { modules } from './runtime/modules.js';
import { consistencyMode, currentTask as runningTask, forEachTask, type ConsistencyMode, type Task } from './runtime/tasks.js';

/** Waits for a turn of the event loop, so that engine steps run with an empty stack. */
const cleanStack = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How long each patch loaded from a file took to read, verify and compile. */
const compileTimes = new WeakMap<KlpPatch, number>();

function describePatch(patch: KlpPatch): PatchInfo {
  const listed = listedPatches();
  const at = listed.indexOf(patch);
  return {
    name: patch.name,
    enabled: patch.enabled,
    transition: patch === getTransitionPatch(),
    replace: patch.replace,
    forced: patch.forced,
    stackOrder: at >= 0 ? at + 1 : listed.length,
    source: patch.source,
    compileMs: compileTimes.get(patch) ?? null,
    transitionMs: patch.transitionMs,
    states: patch.states.map(({ id, version }) => ({ id, version })),
    objects: patch.objects.map((object) => ({
      module: object.name,
      patched: object.patched,
      instances: object.loaded.size,
      dynamic: object.dynamic,
      funcs: object.funcs.map((func) => {
        const hashes: string[] = [];
        for (const loaded of object.loaded.values()) {
          const entry = loaded.entries.find((e) => e.func === func);
          if (entry) hashes.push(entry.symbol.hash);
        }
        return {
          name: func.oldName,
          sympos: func.oldSympos || 1,
          nop: func.nop,
          transition: func.transition,
          hashes,
          ...(func.oldHash ? { oldHash: func.oldHash } : {}),
        };
      }),
    })),
  };
}

/**
 * Enables a patch definition: resolves it against the loaded modules, runs
 * its pre-patch callbacks and starts the patching transition. Resolves once
 * the transition has started; `waitForTransition` waits for it to complete.
 * Rejects with a `LivepatchError` and changes nothing when the patch is refused.
 */
export async function enablePatch(definition: PatchDefinition, options: { source?: string } = {}): Promise<PatchInfo> {
  await cleanStack();
  return describePatch(core.enablePatch(definition, options.source ?? null));
}

/**
 * Loads a patch module (an ESM or TypeScript file whose default export is
 * the definition) into this process and enables it. When the process trusts
 * a signing key, the file must carry a valid detached signature
 * (`<file>.sig`); the loader runs exactly the bytes that were verified.
 * With `signal`, a patch module that has not finished loading when it
 * aborts (its top level awaits what never comes) is refused with
 * ERR_LP_PATCH_LOAD, and never enabled; a string reason says how long it had
 * (`'within 10 seconds'`). `origin` decides what a module that loads later
 * and does not take the patch gets (`PatchOrigin`): refused by default.
 */
export async function loadPatch(
  file: string, options: { unloaded?: UnloadedModules; signal?: AbortSignal; origin?: PatchOrigin } = {},
): Promise<PatchInfo> {
  let patch: KlpPatch | undefined;
  await traceLoad(file, options.origin ?? 'loaded', async () => {
    const loaded = await importTimed(file, options.signal);
    if (options.unloaded === 'refuse') refuseUnloadedModules(loaded.definition);
    await cleanStack();
    patch = core.enablePatch(loaded.definition, loaded.file, options.origin);
    compileTimes.set(patch, loaded.compileMs);
    return patch.name;
  });
  // Set: traceLoad resolves only after the function above returned.
  return describePatch(patch!);
}

/** Imports a patch module (`importPatchModule`), and says how long reading, verifying and compiling it took. */
async function importTimed(file: string, signal?: AbortSignal): Promise<{ definition: PatchDefinition; file: string; compileMs: number }> {
  const started = performance.now();
  const loaded = await importPatchModule(file, signal);
  return { ...loaded, compileMs: performance.now() - started };
}

/**
 * Refuses a definition that names a module no instance of is loaded, with
 * the loaded module ids it most likely meant: a patch for
 * `node_modules/qs/lib/parse.js` would otherwise load, wait for a module
 * that never comes, and patch nothing.
 */
function refuseUnloadedModules(definition: PatchDefinition): void {
  const objects: unknown[] = Array.isArray(definition?.objects) ? definition.objects : [];
  const ids = objects.map((o) => (o as { module?: unknown })?.module).filter((id): id is string => typeof id === 'string');
  const missing = ids.filter((id) => modules.loaded(id).length === 0);
  if (missing.length === 0) return;
  const loadedIds = [...new Set(modules.instances.map((m) => m.id))];
  const detail = missing.map((id) => {
    const likely = likelyModuleIds(id, loadedIds);
    return `'${id}'${likely.length > 0 ? ` (did you mean ${likely.map((l) => `'${l}'`).join(' or ')}?)` : ''}`;
  }).join(', ');
  throw lpError('ERR_LP_NOT_LOADED', { patch: typeof definition.name === 'string' ? definition.name : undefined, detail });
}

/**
 * Loaded module ids that `id` most likely meant: one whose path segments
 * end the same way (`node_modules/qs/lib/parse.js` → `qs/lib/parse.js`,
 * `lib/parse.js` → `qs/lib/parse.js`), else one with the same file name.
 */
function likelyModuleIds(id: string, loadedIds: string[]): string[] {
  const tail = (a: string, b: string) => {
    const x = a.split('/');
    const y = b.split('/');
    let n = 0;
    while (n < x.length && n < y.length && x[x.length - 1 - n] === y[y.length - 1 - n]) n++;
    return n;
  };
  const scored = loadedIds.map((loaded) => ({ loaded, score: tail(id, loaded) })).filter((s) => s.score > 0);
  const best = Math.max(0, ...scored.map((s) => s.score));
  return scored.filter((s) => s.score === best).map((s) => s.loaded).sort().slice(0, 3);
}

/** The installed patches this process loaded at start, and the error of each one that failed then. */
const installed = new Map<string, { file: string; error: Error | null }>();

/**
 * Loads an installed patch at start (`startup/installed.ts`). It never
 * stops the program: a failure is recorded, and a module that loads later
 * and does not take the patch loads without it (`PatchOrigin`).
 */
export async function loadInstalledPatch(name: string, file: string, signal?: AbortSignal): Promise<void> {
  try {
    await loadPatch(file, { signal, origin: 'installed' });
    installed.set(name, { file, error: null });
  } catch (err) {
    installed.set(name, { file, error: err as Error });
    // The caller logs it; the program starts either way.
    throw err;
  }
}

/**
 * Why the patch `name` failed for a module that loaded after it, when it
 * is an installed or watched one that did (`PatchOrigin`): it is being
 * disabled, or was freed for it.
 */
export function patchFailure(name: string): Error | undefined {
  return findPatch(name)?.failure ?? [...failedPatches()].reverse().find((p) => p.name === name)?.failure ?? undefined;
}

/** How each installed patch fared in this process: applied, failed (and why), or unloaded since. */
export function installedStatus(): InstalledStatus[] {
  return [...installed].map(([name, { file, error }]): InstalledStatus => {
    const failure = error ?? findPatch(name)?.failure ?? failedPatches().find((p) => p.name === name)?.failure;
    if (failure) {
      const coded = isLivepatchError(failure) ? failure : lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: ${failure.message}` });
      return { name, file, state: 'failed', error: coded.toJSON() };
    }
    return { name, file, state: findPatch(name) ? 'applied' : 'unloaded' };
  });
}

/**
 * Checks a patch module against this process without enabling it: imports
 * it, and resolves every func in every loaded instance of its modules as a
 * load would (symbols, hashes, scopes, kinds), reporting every refusal a
 * load would meet. Rejects when the file cannot be loaded as a patch module.
 */
export async function checkPatch(file: string, signal?: AbortSignal): Promise<PatchCheckInfo> {
  const { definition, file: real } = await importPatchModule(file, signal);
  const check = core.checkPatch(definition, real);
  return {
    name: typeof definition?.name === 'string' ? definition.name : String(definition?.name),
    replace: definition?.replace === true,
    replaces: check.replaces,
    errors: check.errors.map((e) => e.toJSON()),
    objects: check.objects.map(({ object, instances, funcs }) => ({
      module: object.name,
      instances,
      funcs: funcs.map(({ func, hashes, errors }) => ({
        name: func.oldName, sympos: func.oldSympos || 1, oldHash: func.oldHash ?? null, hashes, errors: errors.map((e) => e.toJSON()),
      })),
    })),
  };
}

/**
 * Disables a patch (writes 0 to its `enabled`): starts the unpatching
 * transition, or reverses the patch's enable while that is in transition.
 * The patch is freed when the transition completes.
 */
export async function disablePatch(name: string): Promise<void> {
  await cleanStack();
  core.writeEnabled(name, false);
}

/**
 * Reverses the disable of `name` while it is still in transition (writes 1
 * to `enabled`): the patch stays enabled. A patch whose disable completed
 * was freed; load it again instead.
 */
export async function reverseDisable(name: string): Promise<void> {
  await cleanStack();
  core.writeEnabled(name, true);
}

/** Forces the transition of `name` (writes 1 to `force`); its code may still run in suspended tasks. */
export async function forceTransition(name: string): Promise<void> {
  await cleanStack();
  core.writeForce(name, true);
}

export function listPatches(): PatchInfo[] {
  return listedPatches().map(describePatch);
}

export function patchInfo(name: string): PatchInfo | undefined {
  const patch = findPatch(name);
  return patch ? describePatch(patch) : undefined;
}

/**
 * The name of the loaded patch that replaced the patch `name` (atomic
 * replace freed it, and the replacing patch now carries its functions), or
 * undefined.
 */
export function replacedBy(name: string): string | undefined {
  return replacerOf(name);
}

/** Freed patches that were forced; their code may still run somewhere. */
export function pinnedPatches(): PatchInfo[] {
  return pinnedList().map(describePatch);
}

/** The running transition: progress and the tasks that block it; null when idle. */
export function transitionStatus(): TransitionStatus | null {
  const progress = transitionProgress();
  if (!progress) return null;
  const blocking = blockingTasks().map((b) => ({ task: b.task.id, name: b.task.name, function: b.function }));
  return { ...progress, blocking };
}

/**
 * Resolves when no transition is running. With `signal`, rejects with its
 * reason once it aborts (`{ signal: AbortSignal.timeout(5000) }`).
 */
export function waitForTransition(options: { signal?: AbortSignal } = {}): Promise<void> {
  return transitionIdle(options.signal);
}

function describeTask(t: Task): TaskInfo {
  return {
    id: t.id, name: t.name, startTime: t.startTime, patchState: t.patchState, pending: t.pending,
    blockedOn: t.patchState !== getTargetState() && getTransitionPatch() ? t.blockedOn : null,
  };
}

export function listTasks(): TaskInfo[] {
  const out: TaskInfo[] = [];
  forEachTask((t) => out.push(describeTask(t)));
  return out;
}

/** The task running now (the root task outside any task): `/proc/self/patch_state` and more. */
export function currentTask(): TaskInfo {
  return describeTask(runningTask());
}

export function consistency(): ConsistencyMode {
  return consistencyMode();
}

export function listModules(): ModuleInfo[] {
  return modules.instances.map((m) => ({
    id: m.id, instance: m.number, location: m.location, state: m.state, symbols: m.meta.symbols.length,
  }));
}

/** The live symbol table of a loaded module (first instance), or undefined. */
export function moduleSymbols(id: string): { id: string; symbols: SymbolMeta[] } | undefined {
  const instance = modules.loaded(id)[0];
  return instance ? { id, symbols: instance.meta.symbols } : undefined;
}

/**
 * Reports module instances as going away, for module reloaders and plugin
 * hosts that drop a module: every patch is reverted on them at once. `which`
 * is a module id (every instance), a file path or URL, or an instance number
 * with the id. Returns how many instances were reported.
 */
export function moduleGoing(which: string, instance?: number): number {
  const targets = modules.instances.filter((m) =>
    (m.id === which && (instance === undefined || m.number === instance)) || m.location === which ||
    m.location === pathToFileURL(path.resolve(which)).href);
  for (const m of targets) modules.going(m);
  return targets.length;
}

/** The currently patched functions with their func stacks (`kpatch list`'s table). */
export function patchedFunctions(): PatchedFunction[] {
  return allOps().map((ops) => ({
    module: ops.instance.id,
    instance: ops.instance.number,
    function: ops.symbol.name,
    sympos: ops.symbol.sympos,
    stack: ops.stack.map((e) => e.func.object.patch.name + (e.func.nop ? ' (nop)' : '')),
    transition: ops.stack[0]?.func.transition ?? false,
  }));
}
