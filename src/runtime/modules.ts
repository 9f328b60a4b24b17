/**
 * Module instances: the analog of `struct module` with its COMING / LIVE /
 * GOING states and the engine's `klp_module_coming`/`klp_module_going`
 * hooks.
 *
 * An instrumented module announces itself from its first statement
 * (`moduleComing`), before any of its own code runs, so pending patches apply
 * before its body. It reports LIVE when its body completes. A module loaded
 * twice (two copies of a package, a cache-busted re-import) is two instances
 * of one module id.
 */
import { lpError } from '../errors.js';
import { pr, warnOnce } from '../log.js';
import type { ModuleHandle, ModuleMeta, ScopeEval, SymbolMeta } from './abi.js';
import { allocateCounters } from './tasks.js';

export type ModuleState = 'coming' | 'live' | 'going';

/** What the engine does when an instance comes and goes; `coming` may throw to refuse the load. */
export interface ModuleHooks {
  coming(instance: ModuleInstance): void;
  going(instance: ModuleInstance): void;
}

/** The sentinel a handler returns to run the original body (a nop). */
export const NOP: unique symbol = Symbol('livepatch.nop');

export class ModuleInstance implements ModuleHandle {
  readonly nop = NOP;
  /** First global live-frame counter of this instance (`__lp_b`). */
  readonly base: number;
  readonly id: string;
  /** File URL (ESM) or path (CommonJS). */
  readonly location: string;
  readonly meta: ModuleMeta;
  /** 1 for the first instance of a module id, 2 for the second, … */
  readonly number: number;
  /** Announcement order across all instances. */
  readonly seq: number;
  state: ModuleState = 'coming';
  private readonly evals: ScopeEval[] = [];
  private readonly tables: Record<string, unknown>[] = [];

  constructor(meta: ModuleMeta, location: string, number: number, seq: number, scopeEval: ScopeEval) {
    this.meta = meta;
    this.id = meta.id;
    this.location = location;
    this.number = number;
    this.seq = seq;
    this.base = allocateCounters(meta.counters);
    this.evals[0] = scopeEval;
  }

  /** Called by the generated code at the top of a nested once-run scope (a top-level IIFE). */
  scope(index: number, scopeEval: ScopeEval): void {
    this.evals[index] = scopeEval;
  }

  /** Points trampoline slot `__lp_h<slot>` at `value` (undefined empties it). */
  setSlot(slot: number, value: unknown): void {
    this.evals[0](`__lp_h${slot} = __lp_v`, value);
  }

  getSlot(slot: number): unknown {
    return this.evals[0](`__lp_h${slot}`);
  }

  /** Global live-frame counter index of an async or generator symbol, or -1. */
  counter(symbol: SymbolMeta): number {
    return symbol.aid < 0 ? -1 : this.base + symbol.aid;
  }

  /** Whether once-run scope `index` has started running (a top-level IIFE runs after the module's first statement). */
  hasScope(index: number): boolean {
    return this.evals[index] !== undefined;
  }

  /**
   * The scope table of once-run scope `index`, which must have started
   * running (`hasScope`): an object with a getter and, where assignment is
   * legal, a setter for each binding declared there (imports included). It
   * reads and writes this instance's live bindings. Built on first use with
   * one eval, so unpatched modules pay nothing.
   */
  scopeTable(index = 0): Record<string, unknown> {
    let table = this.tables[index];
    if (table) return table;
    const evaluate = this.evals[index];
    if (!evaluate) throw lpError('ERR_LP_INTERNAL', { object: this.id, detail: `scope ${index} of instance ${this.number} has not run yet` });
    const members = this.meta.scopes[index].bindings
      .map((name) => `get ${name}() { return ${name}; }, set ${name}(__lp_v) { ${name} = __lp_v; }`);
    table = evaluate(`({ ${members.join(', ')} })`) as Record<string, unknown>;
    this.tables[index] = table;
    return table;
  }
}

/**
 * Every instrumented module instance of this isolate. The loader hook hands
 * over each module's symbol table (`addMeta`) before the module's body runs,
 * in the same thread.
 */
export class ModuleRegistry {
  readonly instances: ModuleInstance[] = [];
  private readonly metas = new Map<string, ModuleMeta>();
  private readonly numbers = new Map<string, number>();
  /** Instances by announcement order, while they are loaded. */
  private readonly bySeqs = new Map<number, ModuleInstance>();
  private seq = 0;
  private hooks: ModuleHooks | null = null;

  setHooks(hooks: ModuleHooks): void {
    this.hooks = hooks;
  }

  addMeta(key: string, meta: ModuleMeta): void {
    this.metas.set(key, meta);
  }

  /** Announcement sequence number of the most recent instance. */
  get lastSeq(): number {
    return this.seq;
  }

  coming(location: string, metaKey: string, scopeEval: ScopeEval): ModuleInstance {
    let meta = this.metas.get(metaKey);
    if (!meta) {
      warnOnce(`meta:${metaKey}`, `no symbol table for '${location}'; its functions cannot be patched`);
      meta = { abi: 0, id: location, format: 'esm', hash: '', symbols: [], scopes: [{ bindings: [] }], slots: 0, counters: 0 };
    }
    const number = (this.numbers.get(meta.id) ?? 0) + 1;
    this.numbers.set(meta.id, number);
    const instance = new ModuleInstance(meta, location, number, ++this.seq, scopeEval);
    this.instances.push(instance);
    this.bySeqs.set(instance.seq, instance);
    if (this.hooks) {
      try {
        this.hooks.coming(instance);
      } catch (err) {
        // A refusal (a patch's pre-patch callback or hash check) fails the
        // load, and the instance never existed for livepatch. Anything else
        // is a livepatch bug: the module loads, and the bug is reported.
        if ((err as { code?: string }).code === 'ERR_LP_MODULE_REFUSED') {
          this.remove(instance);
          // The refusal itself, a catalog error: it fails the module's load.
          throw err;
        }
        warnOnce(`coming:${instance.id}`, `internal error while patching loading module '${instance.id}'; patches for it may not apply: ${(err as Error)?.stack ?? err}`);
      }
    }
    return instance;
  }

  live(instance: ModuleInstance): void {
    if (instance.state === 'coming') instance.state = 'live';
  }

  /**
   * Reports an instance as going away (a module reloader dropped it, or its
   * body threw). Patches are reverted on it at once, as `klp_module_going`
   * does: its code is being discarded, so no consistency check applies.
   */
  going(instance: ModuleInstance): void {
    if (instance.state === 'going') return;
    instance.state = 'going';
    try {
      this.hooks?.going(instance);
    } catch (err) {
      pr('warn', `module going failed for '${instance.id}': ${(err as Error).message}`);
    }
    this.remove(instance);
  }

  /** Instances of `id` that are announced and not going, oldest first. */
  loaded(id: string): ModuleInstance[] {
    return this.instances.filter((i) => i.id === id);
  }

  bySeq(seq: number): ModuleInstance | undefined {
    return this.bySeqs.get(seq);
  }

  private remove(instance: ModuleInstance): void {
    instance.state = 'going';
    const at = this.instances.indexOf(instance);
    if (at >= 0) this.instances.splice(at, 1);
    this.bySeqs.delete(instance.seq);
  }
}

export const modules = new ModuleRegistry();
