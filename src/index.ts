/**
 * livepatch: live patching for running Node.js programs. The public API,
 * every name listed once (docs/livepatch.md explains the concepts).
 *
 * Patch authors use `definePatch`, `replaces`, `withScope`, `shadow`, `getState`,
 * `getPrevState` and `printk`, with the definition types. Hosts (programs,
 * tests, the control plane) drive the engine with the rest.
 *
 * A process has one engine: `import 'livepatch'` and `require('livepatch')`
 * resolve to the copy the process was started with (`livepatch/register`),
 * wherever the importer lives.
 */
export { definePatch, replaces, withScope } from './definition.js';
export type {
  PatchDefinition, ObjectDefinition, FuncDefinition, FuncByName, FuncByOriginal, OriginalSource, Callbacks, CallbackObject, StateDefinition,
  NewFunc, Replacement, ScopedFunc, ScopeTable,
} from './definition.js';
export * as shadow from './engine/shadow.js';
export { getState, getPrevState } from './engine/state.js';
export { printk, setLogger, readLog, followLog } from './log.js';
export type { LogRecord, LogLevel, Logger } from './log.js';
export {
  enablePatch, loadPatch, checkPatch, disablePatch, reverseDisable, forceTransition,
  listPatches, patchInfo, replacedBy, pinnedPatches, patchedFunctions, transitionStatus, waitForTransition,
  listTasks, currentTask, consistency, listModules, moduleSymbols, moduleGoing,
} from './host.js';
export { runTask } from './runtime/tasks.js';
export { LivepatchError, isLivepatchError } from './errors.js';
export type { ErrorCode, ErrorContext, ErrorJSON, Errno } from './errors.js';
export type {
  PatchInfo, ObjectInfo, FuncInfo, TaskInfo, TransitionStatus, ModuleInfo, PatchedFunction, PatchCheckInfo, FuncCheckInfo,
} from './protocol.js';
export { CHANNELS } from './channels.js';
export type {
  LoadMessage, TransitionMessage, PatchEnabledMessage, PatchDisabledMessage, TransitionCompleteMessage, PatchFreedMessage,
} from './channels.js';
export type { SymbolMeta, SymbolKind } from './runtime/abi.js';
export type { ConsistencyMode } from './runtime/tasks.js';
