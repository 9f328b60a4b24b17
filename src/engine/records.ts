/**
 * The engine's records: the internal fields of `klp_patch`, `klp_object`
 * and `klp_func`. They are built from the engine's snapshot of the author's
 * definition (`snapshot.ts`), never from the author's object.
 *
 * One difference from the kernel: a module id can be loaded as several
 * instances (two package copies, a re-import), so a `KlpObject` is resolved
 * once per instance into a `LoadedObject`, and a `KlpFunc` into one
 * `FuncEntry` per instance. Each entry sits on the func stack of its
 * instance's original function.
 */
import type { Callbacks, FuncByName, FuncDefinition, NewFunc, ObjectDefinition, PatchDefinition, ScopedFunc, StateDefinition } from '../definition.js';
import type { SymbolMeta } from '../runtime/abi.js';
import type { LivepatchError } from '../errors.js';
import type { ModuleInstance } from '../runtime/modules.js';

/**
 * Where a patch came from, which decides what a module that loads later and
 * does not take the patch gets: a patch loaded into the running process
 * refuses the module, as the kernel's `klp_module_coming` does; a patch
 * installed to apply at every start never stops the program from starting
 * (the `kpatch.service` promise): the module loads unpatched and the patch
 * is disabled. A patch from the patch directory a process converges to
 * (`watched`) keeps the same promise, and reports the module's own refusal.
 */
export type PatchOrigin = 'loaded' | 'installed' | 'watched';

export class KlpPatch {
  readonly name: string;
  readonly replace: boolean;
  /** Static objects in definition order, then the dynamic objects atomic replace adds. */
  readonly objects: KlpObject[] = [];
  readonly states: readonly StateDefinition[];
  /** True from the start of the enable transition, false from the start of the disable transition. */
  enabled = false;
  /** The patch took part in a forced transition such that its code may still run; never cleared. */
  forced = false;
  /** The file the patch module was loaded from, when it came from one. */
  readonly source: string | null;
  readonly origin: PatchOrigin;
  /** Why an installed patch did not apply to a module that loaded after it; it is being disabled. */
  failure: LivepatchError | null = null;
  /** How long its last completed transition took, from start to completion, in ms; null until one completes. */
  transitionMs: number | null = null;

  constructor(definition: PatchDefinition, source: string | null, origin: PatchOrigin) {
    this.origin = origin;
    this.name = definition.name;
    this.replace = definition.replace === true;
    this.states = definition.states ?? [];
    this.source = source;
  }
}

export class KlpObject {
  readonly patch: KlpPatch;
  /** The module id. */
  readonly name: string;
  /** Static funcs in definition order, then nops. */
  readonly funcs: KlpFunc[] = [];
  readonly callbacks: Callbacks;
  /** Allocated by atomic replace: nops only, no callbacks. */
  readonly dynamic: boolean;
  /** The instances this object is resolved for: the analog of `obj->mod`, per instance. */
  readonly loaded = new Map<ModuleInstance, LoadedObject>();

  private constructor(patch: KlpPatch, name: string, callbacks: Callbacks, dynamic: boolean) {
    this.patch = patch;
    this.name = name;
    this.callbacks = callbacks;
    this.dynamic = dynamic;
  }

  /** An object the patch definition lists (`klp_init_object`). */
  static fromDefinition(patch: KlpPatch, definition: ObjectDefinition): KlpObject {
    const object = new KlpObject(patch, definition.module, definition.callbacks ?? {}, false);
    for (const func of definition.funcs) object.funcs.push(KlpFunc.fromDefinition(object, func));
    return object;
  }

  /** An object atomic replace adds for a module only replaced patches modify (`klp_alloc_object_dynamic`). */
  static allocDynamic(patch: KlpPatch, name: string): KlpObject {
    return new KlpObject(patch, name, {}, true);
  }

  /** `obj->patched`: the object's funcs are on the func stacks (of any loaded instance). */
  get patched(): boolean {
    for (const loaded of this.loaded.values()) if (loaded.patched) return true;
    return false;
  }
}

/**
 * (patched, transition) move through 00 → 01 → 11 → 10 when patching, and
 * 10 → 11 → 01 → 00 when unpatching. `patched` is per instance (on the
 * entries); `transition` is per func, loaded or not.
 */
export class KlpFunc {
  readonly object: KlpObject;
  readonly oldName: string;
  readonly oldSympos: number;
  readonly oldHash: string | undefined;
  /** The replacement; undefined for a nop. */
  readonly newFunc: NewFunc | ScopedFunc | undefined;
  /** Created by atomic replace: runs the original code, never redirects. A field, not a getter: the handler reads it. */
  readonly nop: boolean;
  /** Belongs to the transition patch: the handler consults the task's state. */
  transition = false;

  private constructor(object: KlpObject, oldName: string, oldSympos: number, oldHash: string | undefined, newFunc: NewFunc | ScopedFunc | undefined) {
    this.object = object;
    this.oldName = oldName;
    this.oldSympos = oldSympos;
    this.oldHash = oldHash;
    this.newFunc = newFunc;
    this.nop = newFunc === undefined;
  }

  /** A function the patch definition lists (`klp_init_func`). */
  static fromDefinition(object: KlpObject, definition: FuncDefinition): KlpFunc {
    // The snapshot resolves a func named by `original` to its oldName and oldSympos.
    const { oldName, oldSympos } = definition as FuncByName;
    return new KlpFunc(object, oldName, oldSympos ?? 0, definition.oldHash, definition.newFunc);
  }

  /**
   * A nop for a function that a replaced patch modifies and the replace
   * patch does not (`klp_alloc_func_nop`): it runs the original code.
   */
  static allocNop(object: KlpObject, of: KlpFunc): KlpFunc {
    return new KlpFunc(object, of.oldName, of.oldSympos, undefined, undefined);
  }

  /** The state-tree directory name, `<name>,<sympos>` with sympos 0 shown as 1. */
  get dirName(): string {
    return `${this.oldName},${this.oldSympos || 1}`;
  }
}

/** A `KlpObject` resolved for one module instance. */
export class LoadedObject {
  readonly object: KlpObject;
  readonly instance: ModuleInstance;
  readonly entries: FuncEntry[] = [];
  /** The entries are on their func stacks. */
  patched = false;
  /** `post_unpatch_enabled`: the pre-patch step succeeded, so post-unpatch is owed. */
  postUnpatchEnabled = false;

  constructor(object: KlpObject, instance: ModuleInstance) {
    this.object = object;
    this.instance = instance;
  }
}

/** A `KlpFunc` resolved for one instance: `old_func`, `new_func` and the counters the stack check reads. */
export class FuncEntry {
  readonly func: KlpFunc;
  readonly loaded: LoadedObject;
  readonly symbol: SymbolMeta;
  /** What the trampoline calls for this version; undefined for a nop. */
  readonly impl: NewFunc | undefined;
  /**
   * Live-frame counter of this version (async functions and generators), or
   * -1: the replacement's counting wrapper, or the original for a nop.
   */
  readonly counter: number;
  /** On its func stack. */
  patched = false;

  constructor(func: KlpFunc, loaded: LoadedObject, symbol: SymbolMeta, impl: NewFunc | undefined, counter: number) {
    this.func = func;
    this.loaded = loaded;
    this.symbol = symbol;
    this.impl = impl;
    this.counter = counter;
  }
}
