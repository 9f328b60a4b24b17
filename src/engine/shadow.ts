/**
 * Shadow variables: the analog of `kernel/livepatch/shadow.c`
 * (docs/shadow-vars.md).
 *
 * A shadow variable attaches new data to an object that existing code
 * created, keyed by (object, id). The store is shared by all patches and
 * outlives them, so a cumulative patch finds what an earlier patch attached.
 *
 * An entry is held weakly by its object: when the object is collected, its
 * shadow variables go with it and no destructor runs (nothing could observe
 * the object any more). `freeAll(id)` must still find every live entry of an
 * id, which a WeakMap cannot enumerate, so each id also keeps WeakRefs to its
 * objects, pruned as they die.
 */
import { lpError } from '../errors.js';
import { pr } from '../log.js';

export type ShadowCtor<T> = (obj: object, data: T, ctorData: unknown) => void | number | boolean;
export type ShadowDtor<T> = (obj: object, data: T) => void;

const byObject = new WeakMap<object, Map<number, unknown>>();
const objectsById = new Map<number, Set<WeakRef<object>>>();
const refs = new WeakMap<object, WeakRef<object>>();
const sweepAt = new Map<number, number>();

/** The kernel prints a hashed pointer; an object has none, so its constructor name stands in. */
function label(obj: object, id: number): string {
  return `<${(obj as { constructor?: { name?: string } }).constructor?.name ?? 'Object'}, ${id.toString(16)}>`;
}

function checkKey(obj: unknown, id: unknown): asserts obj is object {
  if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) {
    throw lpError('ERR_LP_SHADOW_KEY', { detail: `${obj === null ? 'null' : typeof obj} is not an object to attach to` });
  }
  if (!Number.isInteger(id)) throw lpError('ERR_LP_SHADOW_KEY', { detail: `the id ${String(id)} is not an integer` });
}

/** The data of `<obj, id>`, or undefined (`klp_shadow_get`). */
export function get<T = unknown>(obj: object, id: number): T | undefined {
  checkKey(obj, id);
  return byObject.get(obj)?.get(id) as T | undefined;
}

function insert<T>(obj: object, id: number, init: () => T, ctor: ShadowCtor<T> | undefined, ctorData: unknown): T | undefined {
  const data = init();
  if (ctor) {
    let ret: unknown;
    try {
      ret = ctor(obj, data, ctorData);
    } catch (err) {
      ret = err;
    }
    if (ret !== undefined && ret !== 0 && ret !== true) {
      pr('err', `Failed to construct shadow variable ${label(obj, id)} (${ret instanceof Error ? ret.message : String(ret)})`);
      return undefined;
    }
  }
  let vars = byObject.get(obj);
  if (!vars) byObject.set(obj, (vars = new Map()));
  vars.set(id, data);
  let ref = refs.get(obj);
  if (!ref) refs.set(obj, (ref = new WeakRef(obj)));
  let set = objectsById.get(id);
  if (!set) objectsById.set(id, (set = new Set()));
  set.add(ref);
  // Objects that died without a free leave dead references behind; sweep
  // them whenever the set doubles, so it stays proportional to live entries.
  if (set.size >= (sweepAt.get(id) ?? 1024)) {
    for (const r of set) if (r.deref() === undefined) set.delete(r);
    sweepAt.set(id, Math.max(1024, set.size * 2));
  }
  return data;
}

/**
 * Attaches new data to `<obj, id>` (`klp_shadow_alloc`). `init` makes the
 * data (a zeroed `{}` by default); `ctor` may fill it and refuses the
 * allocation by throwing or returning a non-zero value. Returns undefined,
 * with the kernel's warning, when the variable already exists.
 */
export function alloc<T = Record<string, unknown>>(obj: object, id: number, options: {
  init?: () => T; ctor?: ShadowCtor<T>; ctorData?: unknown;
} = {}): T | undefined {
  checkKey(obj, id);
  if (byObject.get(obj)?.has(id)) {
    pr('warn', `Duplicate shadow variable ${label(obj, id)}`);
    return undefined;
  }
  return insert(obj, id, options.init ?? (() => ({}) as T), options.ctor, options.ctorData);
}

/** Returns `<obj, id>`, attaching it first if it does not exist; `ctor` runs only for a new entry (`klp_shadow_get_or_alloc`). */
export function getOrAlloc<T = Record<string, unknown>>(obj: object, id: number, options: {
  init?: () => T; ctor?: ShadowCtor<T>; ctorData?: unknown;
} = {}): T | undefined {
  checkKey(obj, id);
  const vars = byObject.get(obj);
  if (vars?.has(id)) return vars.get(id) as T;
  return insert(obj, id, options.init ?? (() => ({}) as T), options.ctor, options.ctorData);
}

/** Detaches `<obj, id>`, calling `dtor` on its data; no-op when absent (`klp_shadow_free`). */
export function free<T = unknown>(obj: object, id: number, dtor?: ShadowDtor<T>): void {
  checkKey(obj, id);
  const vars = byObject.get(obj);
  if (!vars || !vars.has(id)) return;
  const data = vars.get(id) as T;
  vars.delete(id);
  if (vars.size === 0) byObject.delete(obj);
  const ref = refs.get(obj);
  if (ref) objectsById.get(id)?.delete(ref);
  dtor?.(obj, data);
}

/** Detaches every variable with this id, calling `dtor` on each (`klp_shadow_free_all`). */
export function freeAll<T = unknown>(id: number, dtor?: ShadowDtor<T>): void {
  const set = objectsById.get(id);
  if (!set) return;
  objectsById.delete(id);
  for (const ref of set) {
    const obj = ref.deref();
    if (obj === undefined) continue;
    const vars = byObject.get(obj);
    if (!vars || !vars.has(id)) continue;
    const data = vars.get(id) as T;
    vars.delete(id);
    if (vars.size === 0) byObject.delete(obj);
    dtor?.(obj, data);
  }
}
