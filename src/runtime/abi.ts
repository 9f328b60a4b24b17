/**
 * The contract between instrumented code and the runtime: the metadata the
 * instrumenter records for a module, and the shape of the `__livepatch`
 * global that every instrumented module calls.
 *
 * Instrumented output is cached on disk keyed by {@link ABI_VERSION}, so any
 * change to the generated code or to the metadata must bump it.
 */

export const ABI_VERSION = 4;

/** Name of the global the generated code reaches the runtime through. */
export const RUNTIME_GLOBAL = '__livepatch';

/**
 * What kind of function a symbol is. It decides the trampoline shape:
 * async functions and generators count live frames, generators forward with
 * `yield*`, setters discard the handler's result.
 */
export type SymbolKind =
  | 'sync'
  | 'async'
  | 'generator'
  | 'async-generator'
  | 'getter'
  | 'setter'
  | 'constructor';

/** One entry of a module's symbol table (the kallsyms analog). */
export interface SymbolMeta {
  /** Qualified name inside the module: `computeTotal`, `Cart.prototype.add`, `api.total:get`. */
  name: string;
  /** 1-based position among symbols of the same name, in source order. */
  sympos: number;
  kind: SymbolKind;
  /** Content hash of the function's original source (16 hex digits of SHA-256). */
  hash: string;
  /** 1-based line of the function in the original file. */
  line: number;
  /** Index of the trampoline slot `__lp_h<slot>`, or -1 when the function cannot be patched. */
  slot: number;
  /** Index of the live-frame counter (async functions and generators), or -1. */
  aid: number;
  /** Once-run scope the function lives in (0 is the module body). */
  scope: number;
  /** Number of declared arguments the trampoline forwards after `this`. */
  arity: number;
  /** The trampoline forwards a rest array (`...rest` or `...arguments`) after the fixed arguments. */
  rest: boolean;
  /** Why the function cannot be patched, when `slot` is -1. */
  reason?: string;
}

/** How Node runs a module: as an ES module, or as a CommonJS function body. */
export type ModuleFormat = 'esm' | 'cjs';

export interface ScopeMeta {
  /** Bindings declared in this scope, in source order, for the scope table. */
  bindings: string[];
}

export interface ModuleMeta {
  abi: number;
  /** Stable module id: app-relative path or `<package>/<path in package>`. */
  id: string;
  format: ModuleFormat;
  /** Content hash of the whole original source. */
  hash: string;
  symbols: SymbolMeta[];
  scopes: ScopeMeta[];
  /** Number of trampoline slots. */
  slots: number;
  /** Number of live-frame counters. */
  counters: number;
}

/** A generator's live-frame token: kept alive by the suspended frame, see `tasks.ts`. */
export interface FrameToken {
  readonly record: object;
}

/**
 * The `__livepatch` global. Instrumented code calls these on every
 * instrumented async call, so they are kept monomorphic and tiny.
 */
export interface RuntimeAbi {
  readonly nop: symbol;
  moduleComing(location: string, metaKey: string, scopeEval: ScopeEval): ModuleHandle;
  moduleLive(handle: ModuleHandle): void;
  enter(counter: number): unknown;
  leave(task: unknown, counter: number): void;
  enterGen(counter: number): FrameToken;
  leaveGen(token: FrameToken): void;
}

/** A direct-eval closure inside a once-run scope: `(__lp_s, __lp_v) => eval(__lp_s)`. */
export type ScopeEval = (source: string, value?: unknown) => unknown;

/** What the header of an instrumented module keeps in `__lp_m`. */
export interface ModuleHandle {
  readonly nop: symbol;
  /** First global counter index of this instance (`__lp_b`). */
  readonly base: number;
  /** Registers the eval closure of a nested once-run scope (a top-level IIFE). */
  scope(index: number, scopeEval: ScopeEval): void;
}
