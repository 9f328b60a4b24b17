/**
 * Patch life cycle: the analog of `kernel/livepatch/core.c`. Definition
 * checks, init, enable and disable, atomic replace's nops, and patching
 * modules as they come and go (docs/livepatch.md, §6 "Life cycle"). The patch
 * list and the freeing of patches are in `patches.ts`, the callbacks in
 * `callbacks.ts`, so that `transition.ts` needs nothing from here.
 *
 * Everything here is synchronous and runs from the event loop with an empty
 * JavaScript stack, or from a module's first statement while it loads (the
 * kernel's klp_mutex sections). The host API in `host.ts` defers calls to
 * such a point. Callbacks run synchronously inside these sections.
 */
import { publishPatchDisabled, publishPatchEnabled } from '../channels.js';
import type { PatchDefinition, ScopedFunc, ScopeTable } from '../definition.js';
import { isScopedFunc } from '../definition.js';
import { describeThrown, ERRNO, lpError, type ErrorContext, type LivepatchError } from '../errors.js';
import { parameterList } from '../source/params.js';
import { pr } from '../log.js';
import type { SymbolKind, SymbolMeta } from '../runtime/abi.js';
import { isRuntimeInstalled } from '../runtime/install.js';
import { modules, type ModuleInstance } from '../runtime/modules.js';
import { allocateCounters, enter, enterGen, leave, leaveGen, PATCHED, UNPATCHED } from '../runtime/tasks.js';
import { callPostPatch, callPostUnpatch, callPrePatch, callPreUnpatch } from './callbacks.js';
import { patchObject, unpatchObject } from './patch.js';
import { addPatch, findPatch, forgetPatch, listedPatches } from './patches.js';
import { FuncEntry, KlpFunc, KlpObject, KlpPatch, LoadedObject, type PatchOrigin } from './records.js';
import { kindOf, snapshotDefinition } from './snapshot.js';
import { isPatchCompatible } from './state.js';
import {
  cancelTransition, getTransitionPatch, initTransition, reverseTransition, forceTransition,
  startTransition, transitionIdle, tryCompleteTransition,
} from './transition.js';

/** Finds the symbol a func names in one module instance (`klp_find_object_symbol`). */
function lookupSymbol(instance: ModuleInstance, func: KlpFunc): SymbolMeta {
  const context: ErrorContext = { patch: func.object.patch.name, object: instance.id, symbol: func.oldName };
  const matches = instance.meta.symbols.filter((s) => s.name === func.oldName);
  if (matches.length === 0) {
    pr('err', `symbol '${func.oldName}' not found in symbol table`);
    // Symbols are qualified (`exports.greet`, `Widget.prototype.render`): one that ends in the name is what the author most likely meant.
    const likely = [...new Set(instance.meta.symbols.map((s) => s.name).filter((name) => name.endsWith(`.${func.oldName}`)))].slice(0, 3);
    throw lpError('ERR_LP_SYMBOL_NOT_FOUND', likely.length > 0 ? { ...context, detail: `did you mean ${likely.map((l) => `'${l}'`).join(' or ')}?` } : context);
  }
  if (func.oldSympos === 0 && matches.length > 1) {
    pr('err', `unresolvable ambiguity for symbol '${func.oldName}' in object '${instance.id}'`);
    const lines = matches.map((s) => `sympos ${s.sympos} at line ${s.line}`).join(', ');
    throw lpError('ERR_LP_SYMBOL_AMBIGUOUS', { ...context, detail: `${matches.length} symbols share the name (${lines})` });
  }
  if (func.oldSympos > matches.length) {
    pr('err', `symbol position ${func.oldSympos} for symbol '${func.oldName}' in object '${instance.id}' not found`);
    throw lpError('ERR_LP_SYMPOS_NOT_FOUND', { ...context, sympos: func.oldSympos, detail: `the module has ${matches.length}` });
  }
  return matches[Math.max(func.oldSympos, 1) - 1];
}

/** A replacement must keep its original's calling convention. */
function checkKind(original: SymbolKind, fn: Function, context: ErrorContext): void {
  const kind = kindOf(fn, context, 'the replacement');
  let ok: boolean;
  if (original === 'generator' || original === 'async-generator') ok = kind === original;
  else if (original === 'async') ok = kind === 'async' || kind === 'sync';
  else ok = kind === 'sync';
  if (!ok) {
    const article = /^[aeiou]/.test(original) ? 'an' : 'a';
    throw lpError('ERR_LP_KIND_MISMATCH', { ...context, detail: `the original is ${article} ${original} function but the replacement is ${kind}` });
  }
}

/** Names a replacement's first parameter may take: `self`, or one marked unused. */
const SELF_NAME = /^(self|_\w*|\$)$/;

/**
 * Refuses a replacement whose parameters do not fit the calls it will get
 * (docs/writing-patches.md, "The replacement's parameters"): the trampoline
 * passes the original's `this`, then the arguments the original declares
 * (all of them when it has a rest parameter or reads `arguments`). A
 * replacement declaring more than that reads arguments no caller passes; one
 * declaring exactly the original's parameters, the first not named for
 * `self`, has most likely left `self` out.
 */
function checkParameters(symbol: SymbolMeta, fn: Function, context: ErrorContext): void {
  const list = parameterList(fn);
  if (list === null) return;
  const declared = list.names.length;
  const params = `${symbol.arity} parameter${symbol.arity === 1 ? '' : 's'}`;
  if (!symbol.rest && !list.rest && declared > symbol.arity + 1) {
    throw lpError('ERR_LP_ARITY', { ...context, detail: `the replacement declares ${declared - 1} after self, the original ${params}: the extra ones would always be undefined` });
  }
  const [first] = list.names;
  if (symbol.arity > 0 && declared === symbol.arity && first !== null && !SELF_NAME.test(first)) {
    throw lpError('ERR_LP_SELF_MISSING', { ...context, detail: `the replacement declares the original's ${params}, the first named '${first}', which receives the original's this` });
  }
}

/**
 * The trampoline's view of a new version. Async functions and generators
 * get a wrapper that counts their live frames, so that the stack check can
 * see tasks suspended in the new version (when unpatching) or in a version
 * a later patch replaces.
 */
function versionOf(kind: SymbolKind, fn: Function): { impl: (self: unknown, ...args: unknown[]) => unknown; counter: number } {
  if (kind !== 'async' && kind !== 'generator' && kind !== 'async-generator') {
    return { impl: fn as (self: unknown, ...args: unknown[]) => unknown, counter: -1 };
  }
  const counter = allocateCounters(1);
  if (kind === 'async') {
    return {
      counter,
      impl: async function (self: unknown, ...args: unknown[]) {
        const task = enter(counter);
        try {
          return await fn(self, ...args);
        } finally {
          leave(task, counter);
        }
      },
    };
  }
  if (kind === 'generator') {
    return {
      counter,
      impl: function* (self: unknown, ...args: unknown[]) {
        const token = enterGen(counter);
        try {
          return yield* fn(self, ...args);
        } finally {
          leaveGen(token);
        }
      },
    };
  }
  return {
    counter,
    impl: async function* (self: unknown, ...args: unknown[]) {
      const token = enterGen(counter);
      try {
        return yield* fn(self, ...args);
      } finally {
        leaveGen(token);
      }
    },
  };
}

/** Calls a `withScope` factory for one instance; what it throws or returns instead of a function is the author's error. */
function replacementFor(scoped: ScopedFunc, scope: ScopeTable, context: ErrorContext): Function {
  let fn: unknown;
  try {
    fn = scoped.factory(scope);
  } catch (err) {
    throw lpError('ERR_LP_FACTORY_FAILED', { ...context, detail: describeThrown(err) }, { cause: err });
  }
  if (typeof fn !== 'function') throw lpError('ERR_LP_MISSING_NEW_FUNC', { ...context, detail: 'the withScope factory did not return a function' });
  return fn;
}

/**
 * Resolves one func for one loaded instance: its symbol, the hash check, and
 * the replacement made for this instance's scope, checked for its kind.
 * Returns undefined as the replacement for a nop.
 */
function resolveFunc(object: KlpObject, func: KlpFunc, instance: ModuleInstance): { symbol: SymbolMeta; fn: Function | undefined } {
  const symbol = lookupSymbol(instance, func);
  const context: ErrorContext = { patch: object.patch.name, object: object.name, symbol: func.oldName };
  if (symbol.slot < 0) throw lpError('ERR_LP_NOT_PATCHABLE', { ...context, detail: symbol.reason });
  if (func.oldHash !== undefined && func.oldHash !== symbol.hash) {
    throw lpError('ERR_LP_HASH_MISMATCH', { ...context, detail: `built for ${func.oldHash}, running ${symbol.hash} (instance ${instance.number}, ${instance.location})` });
  }
  const { newFunc } = func;
  if (newFunc === undefined) return { symbol, fn: undefined };
  if (isScopedFunc(newFunc) && !instance.hasScope(symbol.scope)) {
    throw lpError('ERR_LP_SCOPE_NOT_RUN', { ...context, detail: `instance ${instance.number} (${instance.location}) is still loading` });
  }
  const fn = isScopedFunc(newFunc) ? replacementFor(newFunc, instance.scopeTable(symbol.scope), context) : newFunc;
  checkKind(symbol.kind, fn, context);
  checkParameters(symbol, fn, context);
  return { symbol, fn };
}

/**
 * Resolves an object for one loaded instance (`klp_init_object_loaded`):
 * symbols, hashes, and the replacement bound to this instance's scope.
 * Creates nothing outside the returned record.
 */
function initObjectLoaded(object: KlpObject, instance: ModuleInstance): LoadedObject {
  const loaded = new LoadedObject(object, instance);
  for (const func of object.funcs) {
    const { symbol, fn } = resolveFunc(object, func, instance);
    // A nop: the original runs, and its own counter is what the stack check reads.
    if (fn === undefined) {
      loaded.entries.push(new FuncEntry(func, loaded, symbol, undefined, instance.counter(symbol)));
      continue;
    }
    const { impl, counter } = versionOf(symbol.kind, fn);
    loaded.entries.push(new FuncEntry(func, loaded, symbol, impl, counter));
  }
  return loaded;
}

/**
 * Adds a nop for every function that a listed patch modifies and the new
 * replace patch does not, in dynamic objects where the new patch has no
 * object for the module (`klp_add_nops`). Sympos 0 and 1 name the same function.
 */
function addNops(patch: KlpPatch): void {
  for (const old of listedPatches()) {
    for (const oldObject of old.objects) {
      let object = patch.objects.find((o) => o.name === oldObject.name);
      if (!object) {
        object = KlpObject.allocDynamic(patch, oldObject.name);
        patch.objects.push(object);
      }
      for (const oldFunc of oldObject.funcs) {
        const same = object.funcs.some((f) => f.oldName === oldFunc.oldName && (f.oldSympos || 1) === (oldFunc.oldSympos || 1));
        if (!same) object.funcs.push(KlpFunc.allocNop(object, oldFunc));
      }
    }
  }
}

/** Builds the engine's records and resolves loaded instances (`klp_init_patch`). Throws before anything is visible. */
function initPatch(def: PatchDefinition, source: string | null, origin: PatchOrigin): KlpPatch {
  const patch = new KlpPatch(def, source, origin);
  for (const objDef of def.objects) patch.objects.push(KlpObject.fromDefinition(patch, objDef));
  if (patch.replace) addNops(patch);
  const resolved: LoadedObject[] = [];
  for (const object of patch.objects) {
    for (const instance of modules.loaded(object.name)) resolved.push(initObjectLoaded(object, instance));
  }
  // Only now, with every instance resolved, do the objects point at them.
  for (const loaded of resolved) loaded.object.loaded.set(loaded.instance, loaded);
  return patch;
}

/** What a dry run found for one func: the hash each loaded instance runs, and why instances would refuse it. */
export interface FuncCheck {
  func: KlpFunc;
  hashes: string[];
  errors: LivepatchError[];
}

/** What a dry run found: the refusals of the patch as a whole, and each object's funcs in each loaded instance. */
export interface PatchCheck {
  patch: KlpPatch | null;
  errors: LivepatchError[];
  objects: { object: KlpObject; instances: number; funcs: FuncCheck[] }[];
  /** The patches a replace patch would replace. */
  replaces: string[];
}

/**
 * Resolves a definition against the loaded modules as enablePatch does,
 * without enabling it: the dry run behind `livepatch check`. The records it
 * builds are discarded; nothing runs but the withScope factories, which
 * enable would run too. Where enable stops at the first refusal, this
 * collects them all.
 */
export function checkPatch(authored: unknown, source: string | null = null): PatchCheck {
  const result: PatchCheck = { patch: null, errors: [], objects: [], replaces: [] };
  let def: PatchDefinition;
  try {
    def = snapshotDefinition(authored);
    if (!isRuntimeInstalled()) throw lpError('ERR_LP_NOT_LIVEPATCH');
  } catch (err) {
    // The snapshot and the runtime check throw catalog errors only.
    result.errors.push(err as LivepatchError);
    return result;
  }
  if (!isPatchCompatible(def, listedPatches())) {
    result.errors.push(lpError('ERR_LP_INCOMPATIBLE_STATES', { patch: def.name, detail: 'a system state would be dropped or downgraded' }));
  }
  if (findPatch(def.name)) result.errors.push(lpError('ERR_LP_PATCH_EXISTS', { patch: def.name }));
  const patch = new KlpPatch(def, source, 'loaded');
  result.patch = patch;
  if (patch.replace) result.replaces = listedPatches().map((p) => p.name);
  for (const objDef of def.objects) {
    const object = KlpObject.fromDefinition(patch, objDef);
    const instances = modules.loaded(object.name);
    const funcs = object.funcs.map((func): FuncCheck => {
      const check: FuncCheck = { func, hashes: [], errors: [] };
      for (const instance of instances) {
        try {
          // The hash the instance runs, whatever else refuses the func.
          check.hashes.push(lookupSymbol(instance, func).hash);
          resolveFunc(object, func, instance);
        } catch (err) {
          // resolveFunc throws catalog errors only: the refusals enable would meet.
          check.errors.push(err as LivepatchError);
        }
      }
      return check;
    });
    result.objects.push({ object, instances: instances.length, funcs });
  }
  return result;
}

/**
 * Enables a patch (`klp_enable_patch`): checks it, resolves it against the
 * loaded modules, runs the pre-patch callbacks, pushes its funcs and starts
 * the transition. A failure leaves everything as it was.
 */
export function enablePatch(authored: unknown, source: string | null = null, origin: PatchOrigin = 'loaded'): KlpPatch {
  const def = snapshotDefinition(authored);
  if (!isRuntimeInstalled()) throw lpError('ERR_LP_NOT_LIVEPATCH');
  if (!isPatchCompatible(def, listedPatches())) {
    pr('err', `Livepatch patch (${def.name}) is not compatible with the already installed livepatches.`);
    throw lpError('ERR_LP_INCOMPATIBLE_STATES', { patch: def.name, detail: 'a system state would be dropped or downgraded' });
  }
  if (findPatch(def.name)) throw lpError('ERR_LP_PATCH_EXISTS', { patch: def.name });
  const patch = initPatch(def, source, origin);
  addPatch(patch);
  try {
    enable(patch);
  } catch (err) {
    forgetPatch(patch);
    // enable() throws only catalog errors (a refusal, or ERR_LP_INTERNAL).
    throw err;
  }
  return patch;
}

/** `__klp_enable_patch`. */
function enable(patch: KlpPatch): void {
  const busy = getTransitionPatch();
  if (busy) throw lpError('ERR_LP_BUSY', { patch: patch.name, detail: `'${busy.name}' is in transition` });
  pr('notice', `enabling patch '${patch.name}'`);
  initTransition(patch, PATCHED);
  let failure: LivepatchError | null = null;
  for (const object of patch.objects) {
    for (const loaded of object.loaded.values()) {
      const refused = callPrePatch(loaded);
      if (refused) {
        pr('warn', `pre-patch callback failed for object '${object.name}'`);
        failure = refused;
        break;
      }
      try {
        patchObject(loaded);
      } catch (err) {
        // patchObject only fails on a broken invariant: everything the author wrote was checked before.
        pr('warn', `failed to patch object '${object.name}'`);
        failure = lpError('ERR_LP_INTERNAL', { patch: patch.name, object: object.name, detail: describeThrown(err) }, { cause: err });
        break;
      }
    }
    if (failure) break;
  }
  if (failure) {
    pr('warn', `failed to enable patch '${patch.name}'`);
    cancelTransition();
    // A catalog error: the pre-patch refusal, or ERR_LP_INTERNAL.
    throw failure;
  }
  startTransition();
  patch.enabled = true;
  publishPatchEnabled(patch.name, patch.origin, patch.replace);
  tryCompleteTransition();
}

/**
 * Writes a patch's `enabled` attribute (`enabled_store`): 0 disables it, or
 * reverses its enable while that is in transition; 1 reverses its disable.
 * A disabled patch is freed once unpatched and cannot be enabled again.
 */
export function writeEnabled(name: string, value: boolean): void {
  const patch = findPatch(name);
  if (!patch) throw lpError('ERR_LP_NO_PATCH', { patch: name });
  if (patch.enabled === value) throw lpError('ERR_LP_ALREADY', { patch: name });
  if (patch === getTransitionPatch()) reverseTransition();
  else if (!value) disable(patch);
  else throw lpError('ERR_LP_ALREADY', { patch: name });
}

/** `__klp_disable_patch`. */
function disable(patch: KlpPatch): void {
  const busy = getTransitionPatch();
  if (busy) throw lpError('ERR_LP_BUSY', { patch: patch.name, detail: `'${busy.name}' is in transition` });
  initTransition(patch, UNPATCHED);
  for (const object of patch.objects) {
    for (const loaded of object.loaded.values()) if (loaded.patched) callPreUnpatch(loaded);
  }
  startTransition();
  patch.enabled = false;
  publishPatchDisabled(patch.name);
  tryCompleteTransition();
}

/** Writes a patch's `force` attribute (`force_store`). */
export function writeForce(name: string, value: boolean): void {
  if (!value) return;
  const patch = findPatch(name);
  if (!patch) throw lpError('ERR_LP_NO_PATCH', { patch: name });
  if (patch !== getTransitionPatch()) throw lpError('ERR_LP_NOT_IN_TRANSITION', { patch: name });
  forceTransition();
}

/**
 * Patches a module instance as it loads, before its body runs, with every
 * listed patch in list order (`klp_module_coming`). A failure of a loaded
 * patch refuses the module: its load throws, and the patches applied before
 * are rolled back. A failure of an installed patch leaves the module to load
 * without it, and disables the patch (`PatchOrigin`).
 */
export function moduleComing(instance: ModuleInstance): void {
  for (const patch of listedPatches()) {
    const object = patch.objects.find((o) => o.name === instance.id);
    if (!object || patch.failure) continue;
    let loaded: LoadedObject;
    try {
      loaded = initObjectLoaded(object, instance);
    } catch (err) {
      const failure = err as LivepatchError;
      pr('warn', `failed to initialize patch '${patch.name}' for module '${instance.id}' (-${ERRNO[failure.errno] ?? 22})`);
      if (patch.origin !== 'loaded') {
        skipInstalledPatch(patch, instance, failure);
        continue;
      }
      refuseModule(patch, instance, failure);
    }
    object.loaded.set(instance, loaded);
    pr('notice', `applying patch '${patch.name}' to loading module '${instance.id}'`);
    const refused = callPrePatch(loaded);
    if (refused) {
      pr('warn', `pre-patch callback failed for object '${object.name}'`);
      object.loaded.delete(instance);
      if (patch.origin !== 'loaded') {
        skipInstalledPatch(patch, instance, refused);
        continue;
      }
      refuseModule(patch, instance, refused);
    }
    try {
      patchObject(loaded);
    } catch (err) {
      pr('warn', `failed to apply patch '${patch.name}' to module '${instance.id}' (-22)`);
      callPostUnpatch(loaded);
      object.loaded.delete(instance);
      refuseModule(patch, instance, lpError('ERR_LP_INTERNAL', { patch: patch.name, object: object.name, detail: describeThrown(err) }, { cause: err }));
    }
    // The transition patch's post-patch runs when its transition completes.
    if (patch !== getTransitionPatch()) callPostPatch(loaded);
  }
}

function refuseModule(patch: KlpPatch, instance: ModuleInstance, cause: LivepatchError): never {
  pr('warn', `patch '${patch.name}' failed for module '${instance.id}', refusing to load module '${instance.id}'`);
  cleanupModule(instance, patch);
  throw lpError('ERR_LP_MODULE_REFUSED', { patch: patch.name, object: instance.id, detail: cause.message }, { cause, errno: cause.errno });
}

/**
 * An installed or watched patch does not apply to a loading module: the
 * module loads without it, the failure stays on the patch, and the patch is disabled on
 * a clean stack (a transition may not start inside the require that loads
 * the module), once no other transition runs.
 */
function skipInstalledPatch(patch: KlpPatch, instance: ModuleInstance, cause: LivepatchError): void {
  const what = patch.origin === 'installed' ? 'installed patch' : 'patch';
  pr('warn', `${what} '${patch.name}' does not apply to loading module '${instance.id}': ${cause.message}; the module loads without it, and the patch is disabled`);
  patch.failure = patch.origin === 'installed'
    ? lpError('ERR_LP_INSTALLED_FAILED', { patch: patch.name, object: instance.id, detail: cause.message }, { cause, errno: cause.errno })
    : cause;
  const disableWhenIdle = (): void => {
    setImmediate(() => {
      if (findPatch(patch.name) !== patch || !patch.enabled) return;
      if (getTransitionPatch()) {
        void transitionIdle().then(disableWhenIdle);
        return;
      }
      try {
        disable(patch);
      } catch (err) {
        pr('warn', `cannot disable installed patch '${patch.name}': ${(err as Error)?.message ?? err}`);
      }
    });
  };
  disableWhenIdle();
}

/**
 * Reverts every patch on a module instance that is going away
 * (`klp_module_going`). Immediate: the instance's code is being discarded.
 */
export function moduleGoing(instance: ModuleInstance): void {
  cleanupModule(instance, null);
}

/** `klp_cleanup_module_patches_limited`: patches before `limit` (all when null), in list order. */
function cleanupModule(instance: ModuleInstance, limit: KlpPatch | null): void {
  for (const patch of listedPatches()) {
    if (patch === limit) break;
    const object = patch.objects.find((o) => o.name === instance.id);
    const loaded = object?.loaded.get(instance);
    if (!object || !loaded) continue;
    if (patch !== getTransitionPatch()) callPreUnpatch(loaded);
    pr('notice', `reverting patch '${patch.name}' on unloading module '${instance.id}'`);
    unpatchObject(loaded);
    callPostUnpatch(loaded);
    object.loaded.delete(instance);
  }
}
