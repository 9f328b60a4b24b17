/**
 * Installs the `__livepatch` global that instrumented code calls. It must
 * exist before the first instrumented module runs, so `livepatch/register`
 * installs it first. The object is frozen so that optimized code can treat
 * its functions as constants and inline them.
 */
import { RUNTIME_GLOBAL, type RuntimeAbi } from './abi.js';
import { modules, NOP, type ModuleInstance } from './modules.js';
import { enter, enterGen, initTasks, leave, leaveGen, type ConsistencyMode, type Task } from './tasks.js';

export function installRuntime(mode: ConsistencyMode): RuntimeAbi {
  const existing = (globalThis as Record<string, unknown>)[RUNTIME_GLOBAL] as RuntimeAbi | undefined;
  if (existing) return existing;
  initTasks(mode);
  const abi: RuntimeAbi = Object.freeze({
    nop: NOP,
    moduleComing: (location, metaKey, scopeEval) => modules.coming(location, metaKey, scopeEval),
    moduleLive: (handle) => modules.live(handle as ModuleInstance),
    enter,
    leave: leave as (task: unknown, counter: number) => void,
    enterGen,
    leaveGen,
  } satisfies RuntimeAbi);
  Object.defineProperty(globalThis, RUNTIME_GLOBAL, { value: abi, enumerable: false, writable: false, configurable: false });
  return abi;
}

export function isRuntimeInstalled(): boolean {
  return RUNTIME_GLOBAL in globalThis;
}

export type { Task };
