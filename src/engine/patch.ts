/**
 * Func stacks and the handler: the analog of `kernel/livepatch/patch.c`.
 *
 * Each patched original function (of one module instance) has an `Ops`
 * holding its func stack, newest patch on top. Its trampoline slot holds:
 * - nothing, when the stack is empty or its top is a nop outside a
 *   transition: the original body runs at unpatched cost;
 * - the top version itself, outside a transition: one extra call;
 * - a generated handler, while the top func is in transition: it picks the
 *   version from the calling task's state, as `klp_ftrace_handler` does.
 *
 * The slot is derived from the stack and the flags, so every change to
 * either goes through `updateSlot`. JavaScript runs one handler at a time per
 * isolate, so the kernel's RCU and barriers have no counterpart here; the
 * comments on ordering in `transition.ts` say which order is still kept and why.
 */
import { warnOnce } from '../log.js';
import type { SymbolMeta } from '../runtime/abi.js';
import { NOP, type ModuleInstance } from '../runtime/modules.js';
import { currentTask, IDLE, UNPATCHED } from '../runtime/tasks.js';
import type { FuncEntry, KlpPatch, LoadedObject } from './records.js';

/** The func stack of one original function of one instance (`klp_ops`). */
class Ops {
  readonly instance: ModuleInstance;
  readonly symbol: SymbolMeta;
  /** Top first. Never empty while the Ops exists. */
  readonly stack: FuncEntry[] = [];
  private handler: Function | null = null;

  constructor(instance: ModuleInstance, symbol: SymbolMeta) {
    this.instance = instance;
    this.symbol = symbol;
  }

  /** The per-task handler, generated once per function so that its call sites stay monomorphic. */
  transitionHandler(): Function {
    this.handler ??= makeHandler(this);
    return this.handler;
  }
}

const opsByInstance = new Map<ModuleInstance, Map<number, Ops>>();

function findOps(instance: ModuleInstance, slot: number): Ops | undefined {
  return opsByInstance.get(instance)?.get(slot);
}

/** Every func stack, for listing the patched functions. */
export function allOps(): Ops[] {
  const all: Ops[] = [];
  for (const table of opsByInstance.values()) all.push(...table.values());
  return all;
}

/** Points the trampoline slot at what the stack and the flags say (see the file comment). */
function updateSlot(ops: Ops): void {
  const top = ops.stack[0];
  let value: unknown;
  if (top === undefined) value = undefined;
  else if (top.func.transition) value = ops.transitionHandler();
  else value = top.func.nop ? undefined : top.impl;
  ops.instance.setSlot(ops.symbol.slot, value);
}

/** The entry below `entry` on its stack, the version tasks in the old state run. */
export function entryBelow(entry: FuncEntry): FuncEntry | undefined {
  const ops = findOps(entry.loaded.instance, entry.symbol.slot);
  if (!ops) return undefined;
  const at = ops.stack.indexOf(entry);
  return at >= 0 ? ops.stack[at + 1] : undefined;
}

function patchFunc(entry: FuncEntry): void {
  if (entry.patched) {
    warnOnce(`patched:${entry.func.oldName}`, `'${entry.func.oldName}' is already patched`);
    return;
  }
  const { instance } = entry.loaded;
  let table = opsByInstance.get(instance);
  if (!table) opsByInstance.set(instance, (table = new Map()));
  let ops = table.get(entry.symbol.slot);
  if (!ops) table.set(entry.symbol.slot, (ops = new Ops(instance, entry.symbol)));
  ops.stack.unshift(entry);
  entry.patched = true;
  updateSlot(ops);
}

function unpatchFunc(entry: FuncEntry): void {
  const { instance } = entry.loaded;
  const table = opsByInstance.get(instance);
  const ops = table?.get(entry.symbol.slot);
  entry.patched = false;
  if (!ops) return;
  const at = ops.stack.indexOf(entry);
  if (at >= 0) ops.stack.splice(at, 1);
  updateSlot(ops);
  if (ops.stack.length === 0) {
    table!.delete(entry.symbol.slot);
    if (table!.size === 0) opsByInstance.delete(instance);
  }
}

/** Pushes every func of the object instance on its stack, all or none (`klp_patch_object`). */
export function patchObject(loaded: LoadedObject): void {
  if (loaded.patched) {
    warnOnce(`object:${loaded.object.name}`, `object '${loaded.object.name}' is already patched`);
    return;
  }
  const done: FuncEntry[] = [];
  try {
    for (const entry of loaded.entries) {
      patchFunc(entry);
      done.push(entry);
    }
  } catch (err) {
    for (const entry of done) unpatchFunc(entry);
    // Rolled back; the caller reports it as ERR_LP_INTERNAL.
    throw err;
  }
  loaded.patched = true;
}

/** What `__klp_unpatch_object` removes: every func, or only the nops (`nops_only`). */
type Unpatched = 'all' | 'nops';

function unpatchLoaded(loaded: LoadedObject, which: Unpatched): void {
  for (const entry of loaded.entries) {
    if (which === 'nops' && !entry.func.nop) continue;
    if (entry.patched) unpatchFunc(entry);
  }
  // A static object keeps its real funcs when only the nops go.
  if (which === 'all' || loaded.object.dynamic) loaded.patched = false;
}

function unpatchPatch(patch: KlpPatch, which: Unpatched): void {
  for (const object of patch.objects) {
    for (const loaded of object.loaded.values()) if (loaded.patched) unpatchLoaded(loaded, which);
  }
}

/** Removes the object instance's funcs from their stacks (`klp_unpatch_object`). */
export function unpatchObject(loaded: LoadedObject): void {
  unpatchLoaded(loaded, 'all');
}

/** Removes every func of the patch from its stack (`klp_unpatch_objects`). */
export function unpatchObjects(patch: KlpPatch): void {
  unpatchPatch(patch, 'all');
}

/** Removes only the patch's nops from their stacks (`klp_unpatch_objects_dynamic`). */
export function unpatchObjectsDynamic(patch: KlpPatch): void {
  unpatchPatch(patch, 'nops');
}

/** Re-derives the slots of every patched func of `patch`, after its `transition` flags changed. */
export function refreshSlots(patch: KlpPatch): void {
  for (const object of patch.objects) {
    for (const loaded of object.loaded.values()) {
      for (const entry of loaded.entries) {
        if (!entry.patched) continue;
        const ops = findOps(loaded.instance, entry.symbol.slot);
        if (ops) updateSlot(ops);
      }
    }
  }
}

function idleInTransition(): void {
  warnOnce('handler-idle', 'a task in the IDLE state called a function in transition');
}

/**
 * Generates the per-task handler of one function (`klp_ftrace_handler`):
 *
 *     func = top
 *     if func.transition and the task is UNPATCHED: func = the entry below; none → original
 *     func.nop → original, without re-entering the trampoline (return NOP)
 *
 * Only the top func's `transition` flag is read; the entry below is used as
 * it is. `new Function` gives each handler its own feedback, so the call to
 * the chosen version can be inlined; a shared closure would be megamorphic.
 */
function makeHandler(ops: Ops): Function {
  const { arity, rest } = ops.symbol;
  const params: string[] = [];
  for (let i = 0; i < arity; i++) params.push(`a${i}`);
  if (rest) params.push('...r');
  const list = params.map((p) => `, ${p}`).join('');
  const body = `return function livepatch_handler(self${list}) {
  let e = stack[0];
  if (e.func.transition) {
    const state = currentTask().patchState;
    if (state === UNPATCHED) {
      e = stack[1];
      if (e === undefined) return NOP;
    } else if (state === IDLE) {
      idleInTransition();
    }
  }
  return e.func.nop ? NOP : e.impl(self${list});
};`;
  return new Function('stack', 'currentTask', 'NOP', 'UNPATCHED', 'IDLE', 'idleInTransition', body)(
    ops.stack, currentTask, NOP, UNPATCHED, IDLE, idleInTransition);
}
