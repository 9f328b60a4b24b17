/**
 * The patch definition: what a patch author writes, the analog of
 * `struct klp_patch`, `klp_object`, `klp_func`, `klp_callbacks` and
 * `klp_state`. The engine never writes to these objects; it keeps its own
 * records (`engine/core.ts`), as the kernel separates external fields from
 * internal ones.
 *
 * A patch module is an ESM or TypeScript file whose default export is a
 * definition:
 *
 *     import { definePatch } from 'livepatch';
 *     export default definePatch({
 *       name: 'fix-total',
 *       objects: [{
 *         module: 'src/orders.js',
 *         funcs: [{ oldName: 'computeTotal', newFunc: (self, order) => … }],
 *       }],
 *     });
 */

/**
 * A replacement function. It receives the original's `this` as its first
 * argument (`self`), then the caller's arguments. It must be the same kind
 * of function as the original: a generator for a generator, an async
 * function or a function returning a promise for an async function.
 */
// `any` here is deliberate: a replacement's parameter types are the author's.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NewFunc = (self: any, ...args: any[]) => any;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

/**
 * The type of a replacement for a function of type `F`: `self` (the
 * original's `this`, `Self`), then the original's parameters, returning
 * what the original returns. See {@link replaces}.
 */
export type Replacement<F extends AnyFunction, Self = ThisParameterType<F>> = (self: Self, ...args: Parameters<F>) => ReturnType<F>;

/**
 * Types a replacement against the original, so that the type checker
 * catches a replacement that leaves out `self`, takes other arguments or
 * returns something else. `F` is the original's type, from the module's
 * own types:
 *
 *     import type { computeTotal } from '../src/orders.js';
 *     newFunc: replaces<typeof computeTotal>((self, order) => order.net * 1.2)
 *
 * A method takes its class as `Self`: `replaces<Cart['add'], Cart>(…)`.
 * At run time it returns `newFunc` unchanged.
 */
export function replaces<F extends AnyFunction, Self = ThisParameterType<F>>(newFunc: Replacement<F, Self>): Replacement<F, Self> {
  return newFunc;
}

const SCOPED = Symbol.for('livepatch.scoped');

/**
 * A replacement that needs the target module's internals: `factory` is
 * called once per module instance with that instance's scope table, and
 * returns the replacement for that instance. See {@link withScope}.
 */
export interface ScopedFunc<S = ScopeTable> {
  readonly [SCOPED]: true;
  readonly factory: (scope: S) => NewFunc;
}

/**
 * A module instance's top-level bindings, imports included: reading a
 * property reads the live binding, assigning it assigns the binding (a
 * `TypeError` for `const` and imports, as in the module itself).
 */
export type ScopeTable = Record<string, any>;

/**
 * Declares a replacement that reaches the target module's internals (the
 * analog of livepatch relocations). `scope` is the scope table of the module
 * instance being patched, so the replacement can call unexported functions
 * and read or update module state:
 *
 *     newFunc: withScope<{ applyDiscount(o: Order): number }>((scope) =>
 *       (self, order) => scope.applyDiscount(order) * 1.2)
 */
export function withScope<S = ScopeTable>(factory: (scope: S) => NewFunc): ScopedFunc<S> {
  return { [SCOPED]: true, factory };
}

export function isScopedFunc(value: unknown): value is ScopedFunc {
  return typeof value === 'object' && value !== null && (value as ScopedFunc)[SCOPED] === true;
}

/**
 * Where a bundled function was written: a file its module's source map
 * names (`src/Lexer.ts`, or any end of its path at a `/`), and the 1-based
 * line the function begins on, as `livepatch symbols <file>` prints them.
 */
export interface OriginalSource {
  source: string;
  line: number;
}

interface FuncCommon {
  newFunc: NewFunc | ScopedFunc<any>;
  /**
   * The content hash of the original this patch was built against, as
   * `livepatch symbols` prints it. A different running function refuses the
   * whole patch.
   */
  oldHash?: string;
}

/** A function to replace (`klp_func`), named by its symbol in the module. */
export interface FuncByName extends FuncCommon {
  /** The symbol of the original, as `livepatch symbols` prints it: `computeTotal`, `Cart.prototype.add`. */
  oldName: string;
  /**
   * Which of several same-named symbols, 1-based in source order. 0 (the
   * default) means the name must be unique in the module.
   */
  oldSympos?: number;
  original?: never;
}

/**
 * A function to replace in bundled code, named by where it was written: the
 * module's source map resolves it to the bundle's symbol and sympos when the
 * patch is read (ERR_LP_SOURCE_NOT_FOUND, ERR_LP_SOURCE_AMBIGUOUS).
 */
export interface FuncByOriginal extends FuncCommon {
  original: OriginalSource;
  oldName?: never;
  oldSympos?: never;
}

/** A function to replace (`klp_func`): by its symbol, or by its original source location. */
export type FuncDefinition = FuncByName | FuncByOriginal;

/** What a callback receives: one instance of the patched module. */
export interface CallbackObject {
  /** The patch's name. */
  readonly patch: string;
  /** The module id. */
  readonly module: string;
  /** Which instance of the module (1 for the first). */
  readonly instance: number;
  /** COMING while the module is loading, LIVE once loaded, GOING while it goes away. */
  readonly state: 'COMING' | 'LIVE' | 'GOING';
  /** The instance's module-level scope table. */
  readonly scope: ScopeTable;
}

/**
 * Callbacks run per module instance, synchronously, in the kernel's order
 * (docs/callbacks.md). `prePatch` refuses the patch (or the loading module)
 * by throwing, or by returning `false` or a non-zero number. A callback is
 * never awaited: an `async` one is refused (ERR_LP_ASYNC_CALLBACK).
 */
export interface Callbacks {
  prePatch?(obj: CallbackObject): void | boolean | number;
  postPatch?(obj: CallbackObject): void;
  preUnpatch?(obj: CallbackObject): void;
  postUnpatch?(obj: CallbackObject): void;
}

/** A module the patch modifies (`klp_object`). */
export interface ObjectDefinition {
  /** Module id: app-relative path (`src/orders.js`) or `<package>/<path in package>`. */
  module: string;
  /** May be empty, for an object that only has callbacks. */
  funcs: FuncDefinition[];
  callbacks?: Callbacks;
}

/** A system state the patch introduces or keeps (`klp_state`). */
export interface StateDefinition {
  /** Non-zero id of the modified system state. */
  id: number;
  /** Version of the modification; a later patch must keep it at the same or a higher version. */
  version: number;
  /** Free data for the patch author. */
  data?: unknown;
}

/** A patch (`klp_patch`). */
export interface PatchDefinition {
  /** 1 to 55 characters from [A-Za-z0-9_.-]. */
  name: string;
  /**
   * Atomic replace: this cumulative patch replaces every patch enabled
   * before it, in one transition (docs/cumulative-patches.md).
   */
  replace?: boolean;
  objects: ObjectDefinition[];
  states?: StateDefinition[];
}

/**
 * Returns its argument; it exists to give a patch definition its type, so
 * that a misspelt field (`prepatch`, `oldname`) or a missing one is a type
 * error where the patch is written.
 */
export function definePatch(patch: PatchDefinition): PatchDefinition {
  return patch;
}
