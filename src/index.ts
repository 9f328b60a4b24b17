/**
 * livepatch: live patching for running Node.js programs.
 *
 * Patch authors use `definePatch`, `withScope`, `shadow`, `getState`,
 * `getPrevState` and `printk`, and the definition types. Hosts (programs,
 * tests, the control plane) use the rest. See docs/ for the concepts.
 *
 * A process has one engine. If a second copy of this package is loaded
 * (the application's own dependency next to the one `livepatch run` used),
 * its exports forward to the engine that `livepatch/register` installed.
 */
import * as local from './host.js';

const HOST = Symbol.for('livepatch.host');
type Host = typeof local;

const host: Host = ((globalThis as Record<symbol, unknown>)[HOST] as Host | undefined) ?? local;

/** Makes this copy's engine the one every copy uses; called by `livepatch/register`. */
export function publishHost(): void {
  (globalThis as Record<symbol, unknown>)[HOST] ??= local;
}

export { definePatch, withScope } from './definition.js';
export type {
  PatchDefinition, ObjectDefinition, FuncDefinition, Callbacks, CallbackObject, StateDefinition,
  NewFunc, ScopedFunc, ScopeTable,
} from './definition.js';
export { LivepatchError, isLivepatchError, catalog as errorCatalog } from './errors.js';
export type { ErrorCode, ErrorContext } from './errors.js';
export type { LogRecord, LogLevel, Logger } from './log.js';
export type { SymbolMeta, SymbolKind } from './runtime/abi.js';
export type {
  PatchInfo, ObjectInfo, FuncInfo, TaskInfo, TransitionStatus, ModuleInfo, PatchedFunction,
} from './protocol.js';

export const enablePatch = host.enablePatch;
export const loadPatch = host.loadPatch;
export const disablePatch = host.disablePatch;
export const reenablePatch = host.reenablePatch;
export const forceTransition = host.forceTransition;
export const listPatches = host.listPatches;
export const patchInfo = host.patchInfo;
export const pinnedPatches = host.pinnedPatches;
export const patchedFunctions = host.patchedFunctions;
export const transitionStatus = host.transitionStatus;
export const waitForTransition = host.waitForTransition;
export const listTasks = host.listTasks;
export const currentTask = host.currentTask;
export const runTask = host.runTask;
export const consistency = host.consistency;
export const listModules = host.listModules;
export const moduleSymbols = host.moduleSymbols;
export const moduleGoing = host.moduleGoing;
export const setLogger = host.setLogger;
export const readLog = host.readLog;
export const followLog = host.followLog;
export const printk = host.printk;
export const getState = host.getState;
export const getPrevState = host.getPrevState;
export const shadow = host.shadow;
