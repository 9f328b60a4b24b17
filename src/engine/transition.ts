/**
 * The per-task consistency model: the analog of
 * `kernel/livepatch/transition.c` (docs/livepatch.md, §5 "The consistency model").
 *
 * A task switches every function of the transition patch at once, and only
 * when it holds no live frame of a function the transition changes. Switch
 * attempts run from the event loop with an empty stack, so the only frames
 * that can be live are suspended async functions and generators, which the
 * instrumented code counts per task (`runtime/tasks.ts`).
 *
 * Completion is event-driven: when a pending task's last blocking frame
 * exits, `tryCompleteTransition` runs on the next turn of the event loop. A
 * one-second retry (the kernel's delayed work) is the safety net, and a
 * transition stalled for `stallNoticeSeconds` logs its blocking tasks and
 * nudges the garbage collector, which releases abandoned generators (the
 * fake-signal analog).
 *
 * Ordering. JavaScript runs one thing at a time per isolate, so the kernel's
 * barriers have no counterpart; the order of the steps is kept as the kernel
 * has it, because what a handler call sees between two steps still depends
 * on it. Each step names its kernel counterpart.
 */
import { publishPatchDisabled, publishPatchEnabled, publishTransitionEnd, publishTransitionStart } from '../channels.js';
import { pr, warnOnce } from '../log.js';
import {
  endTaskStates, forceTaskStates, forEachTask, IDLE, initTaskStates, isPending, PATCHED, reverseTaskStates,
  setFrameExitHook, setPatchState, startTaskStates, sweepTasks, targetState, UNPATCHED, untrackIdle, type PatchState, type Task,
} from '../runtime/tasks.js';
import { callPostPatch, callPostUnpatch } from './callbacks.js';
import { discardNops, freePatch, freeReplacedPatches, listedPatches, unpatchReplacedPatches } from './patches.js';
import { entryBelow, refreshSlots, unpatchObjects } from './patch.js';
import type { TransitionProgress } from '../protocol.js';
import type { KlpPatch } from './records.js';

const RETRY_MS = 1000;

let transitionPatch: KlpPatch | null = null;
let startedAt = 0;
/** `performance.now()` at the start, for the duration; `startedAt` is wall-clock time for the wire. */
let startedTick = 0;
let noticeAt = 0;
let retryTimer: NodeJS.Timeout | null = null;
let kickPending = false;
let stallNoticeMs = 15_000;
const waiters = new Set<() => void>();

export function getTransitionPatch(): KlpPatch | null {
  return transitionPatch;
}

export function getTargetState(): PatchState {
  return targetState();
}

export function setStallNotice(seconds: number): void {
  stallNoticeMs = seconds * 1000;
}

const direction = (state: PatchState) => (state === PATCHED ? 'patching' : 'unpatching');

/**
 * Prepares all tasks and the patch's funcs for a transition to `state`
 * (`klp_init_transition`). The target takes effect only when the pending
 * flags are set by `startTransition`.
 */
export function initTransition(patch: KlpPatch, state: PatchState): void {
  if (targetState() !== IDLE) warnOnce('init-target', 'initializing a transition while another one is running');
  transitionPatch = patch;
  // A transition canceled before its start completes with the time since here.
  startedTick = performance.now();
  pr('debug', `'${patch.name}': initializing ${direction(state)} transition`);

  // Tasks take the initial state before any func is marked in transition:
  // a handler that sees a func in transition must find the calling task in
  // UNPATCHED or PATCHED, never IDLE (the kernel's first smp_wmb, paired
  // with the read in the handler). The target takes effect at start.
  initTaskStates(state === PATCHED ? UNPATCHED : PATCHED, state);

  // Every func of the patch, loaded or not, nops included. When patching the
  // funcs are not on the stacks yet; when unpatching they are, so their
  // slots move to the handler now.
  for (const object of patch.objects) for (const func of object.funcs) func.transition = true;
  refreshSlots(patch);
}

/** Marks every task that is not in the target state pending (`klp_start_transition`). */
export function startTransition(): void {
  const patch = transitionPatch!;
  if (targetState() === IDLE) warnOnce('start-idle', 'starting a transition without a target');
  pr('notice', `'${patch.name}': starting ${direction(targetState())} transition`);
  startTaskStates();
  startedAt = Date.now();
  startedTick = performance.now();
  noticeAt = startedAt + stallNoticeMs;
  forcedNow = false;
  publishTransitionStart(patch.name, nameOf(targetState()));
}

/** Some task of the transition in progress was switched by force. */
let forcedNow = false;

const nameOf = (state: PatchState): 'patched' | 'unpatched' => (state === PATCHED ? 'patched' : 'unpatched');

/** Ends the transition in progress by `outcome`, `complete` doing the engine's part, as the channels publish it. */
function endTransition(outcome: 'complete' | 'reversed', complete: () => void): void {
  const ended = { patch: transitionPatch!.name, target: nameOf(targetState()), outcome, forced: forcedNow, durationMs: performance.now() - startedTick };
  publishTransitionEnd(ended, complete);
}

/** A counter the stack check reads, and the function it belongs to (for diagnostics). */
interface Checked {
  counter: number;
  where: string;
}

/**
 * The counters of the code a task in the old state may still be running
 * (`klp_check_stack_func`), once per attempt: when unpatching, the version being removed
 * (for a nop, the original); when patching, the version below this one on
 * the stack, or the original when it is alone. Synchronous versions have no
 * counter: their frames cannot be live between two turns of the event loop.
 */
function checkedCounters(patch: KlpPatch): Checked[] {
  const checked: Checked[] = [];
  for (const object of patch.objects) {
    for (const loaded of object.loaded.values()) {
      if (!loaded.patched) continue;
      for (const entry of loaded.entries) {
        let counter: number;
        if (targetState() === UNPATCHED) {
          counter = entry.counter;
        } else {
          const below = entryBelow(entry);
          counter = below === undefined || below.func.nop ? loaded.instance.counter(entry.symbol) : below.counter;
        }
        if (counter >= 0) checked.push({ counter, where: `${object.name}:${entry.func.oldName}` });
      }
    }
  }
  return checked;
}

/**
 * Switches a task to the target state if it holds no live frame of the
 * code it might still run in its old state (`klp_try_switch_task` and
 * `klp_check_stack`). One hit anywhere blocks the whole task: that is what
 * makes the switch atomic across all functions of the patch.
 */
function trySwitchTask(task: Task, checked: Checked[]): boolean {
  if (!isPending(task)) return true;
  if (task.liveFrames > 0) {
    for (const { counter, where } of checked) {
      if (task.frames(counter) > 0) {
        task.blockedOn = where;
        return false;
      }
    }
  }
  setPatchState(task, targetState());
  task.blockedOn = null;
  untrackIdle(task);
  return true;
}

/**
 * Tries to switch every task; completes the transition when all have
 * switched (`klp_try_complete_transition`). Runs from the event loop only.
 * Returns whether the transition completed.
 */
export function tryCompleteTransition(): boolean {
  if (transitionPatch === null) return true;
  if (targetState() === IDLE) warnOnce('complete-idle', 'completing a transition without a target');
  let complete = true;
  const checked = checkedCounters(transitionPatch);
  forEachTask((task) => {
    if (!trySwitchTask(task, checked)) complete = false;
  });
  if (!complete) {
    if (Date.now() >= noticeAt) stallNotice();
    scheduleRetry();
    return false;
  }
  cancelRetry();
  const patch = transitionPatch;
  endTransition('complete', completeTransition);
  if (!patch.enabled) freePatch(patch);
  else if (patch.replace) freeReplacedPatches(patch);
  // Waiters resume after the free, so they see the final patch list.
  for (const wake of waiters) wake();
  waiters.clear();
  return true;
}

/** Finishes the transition in the kernel's order (`klp_complete_transition`). */
function completeTransition(): void {
  const patch = transitionPatch!;
  const target = targetState();
  pr('debug', `'${patch.name}': completing ${direction(target)} transition`);

  if (patch.replace && target === PATCHED) {
    unpatchReplacedPatches(patch);
    discardNops(patch);
  }
  // When unpatching, the funcs leave the stacks while still flagged in
  // transition, so that no handler can see them flagged out and pick them.
  if (target === UNPATCHED) unpatchObjects(patch);

  for (const object of patch.objects) for (const func of object.funcs) func.transition = false;
  refreshSlots(patch);

  // Task states go back to IDLE only after no func is in transition.
  forEachTask((task) => {
    if (isPending(task)) warnOnce('complete-pending', `task '${task.name}' is still pending at completion`);
    task.blockedOn = null;
  });
  endTaskStates();

  for (const object of patch.objects) {
    for (const loaded of object.loaded.values()) {
      if (target === PATCHED) callPostPatch(loaded);
      else callPostUnpatch(loaded);
    }
  }
  patch.transitionMs = performance.now() - startedTick;
  pr('notice', `'${patch.name}': ${direction(target)} complete`);
  transitionPatch = null;
}

/**
 * Undoes an enable that failed before its transition started
 * (`klp_cancel_transition`). Once started, use `reverseTransition`.
 */
export function cancelTransition(): void {
  if (targetState() !== PATCHED) {
    warnOnce('cancel-target', 'canceling a transition that is not patching');
    return;
  }
  pr('debug', `'${transitionPatch!.name}': canceling patching transition, going to unpatch`);
  // Not started: every task is still in the initial state, UNPATCHED.
  reverseTaskStates();
  completeTransition();
}

/**
 * Turns the running transition around (`klp_reverse_transition`): tasks
 * that had not switched are already in the new target state. No callbacks run.
 */
export function reverseTransition(): void {
  const patch = transitionPatch!;
  pr('debug', `'${patch.name}': reversing transition from ${targetState() === PATCHED ? 'patching to unpatching' : 'unpatching to patching'}`);
  // Tasks keep the state they are in; the target flips under them, so that
  // those that had not switched are already done.
  endTransition('reversed', reverseTaskStates);
  patch.enabled = !patch.enabled;
  startTransition();
  if (patch.enabled) publishPatchEnabled(patch.name, patch.origin, patch.replace);
  else publishPatchDisabled(patch.name);
  // The kernel waits for its next retry; completion here is event-driven.
  kick();
}

/**
 * Switches every pending task to the target now (`klp_force_transition`),
 * whatever it is running. The patches whose code may still run are marked
 * forced for good.
 */
export function forceTransition(): void {
  const patch = transitionPatch!;
  pr('warn', 'forcing remaining tasks to the patched state');
  forceTaskStates();
  forcedNow = true;
  if (targetState() === UNPATCHED) {
    patch.forced = true;
  } else if (patch.replace) {
    for (const other of listedPatches()) if (other !== patch) other.forced = true;
  }
  kick();
}

/**
 * Schedules a completion attempt on a clean stack, once per event-loop turn.
 * The immediate is left ref'd: it holds the process for one turn at most,
 * and an unref'd one would let a process whose last frame just exited quit
 * with its transition never completed.
 */
function kick(): void {
  if (kickPending) return;
  kickPending = true;
  setImmediate(() => {
    kickPending = false;
    if (transitionPatch !== null) tryCompleteTransition();
  });
}

// A pending task's last blocking frame exited; it may now switch. The exit
// happens inside that task's code, so the attempt is deferred to the loop.
setFrameExitHook(() => {
  if (transitionPatch !== null) kick();
});

function scheduleRetry(): void {
  if (retryTimer !== null) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (transitionPatch !== null) tryCompleteTransition();
  }, RETRY_MS);
  retryTimer.unref();
}

function cancelRetry(): void {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
}

/** The analog of `signaling remaining tasks`: name the blocking tasks, then nudge the collector. */
function stallNotice(): void {
  const patch = transitionPatch!;
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const blocking = blockingTasks().map((b) => `'${b.task.name}' (task ${b.task.id}) in ${b.function}`);
  pr('notice', `'${patch.name}': transition stalled for ${seconds}s, blocking tasks: ${blocking.join(', ')}`);
  pr('notice', 'signaling remaining tasks');
  // Tasks tracked weakly can be collected once their frames are unreachable.
  sweepTasks();
  collectGarbage();
  noticeAt = Date.now() + stallNoticeMs;
}

let gc: (() => void) | null = null;

/**
 * A full collection releases abandoned generators and tasks whose suspended
 * frames can never resume. `--expose-gc` can be turned on at run time; the
 * modules that do it are loaded only then, not at every start.
 */
export function collectGarbage(): void {
  if (gc === null) {
    process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
    gc = process.getBuiltinModule('node:vm').runInNewContext('gc') as () => void;
  }
  gc();
}

export interface BlockingTask {
  task: Task;
  /** `<module id>:<symbol>` of a function the task is suspended in. */
  function: string;
}

/** Tasks not yet in the target state, with what blocks them as of the last attempt. */
export function blockingTasks(): BlockingTask[] {
  const out: BlockingTask[] = [];
  if (transitionPatch === null) return out;
  forEachTask((task) => {
    if (isPending(task)) out.push({ task, function: task.blockedOn ?? '(not checked yet)' });
  });
  return out;
}

export function transitionProgress(): TransitionProgress | null {
  if (transitionPatch === null) return null;
  let switched = 0;
  let total = 0;
  forEachTask((task) => {
    total++;
    if (!isPending(task)) switched++;
  });
  return { patch: transitionPatch.name, target: targetState() === PATCHED ? 'patched' : 'unpatched', switched, total, startedAt };
}

/**
 * Resolves when no transition is running. An aborted `signal` rejects with
 * its reason and unregisters the waiter, so a caller that gives up leaves
 * nothing behind.
 */
export function transitionIdle(signal?: AbortSignal): Promise<void> {
  if (transitionPatch === null) return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      waiters.delete(wake);
      reject(signal!.reason);
    };
    const wake = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    waiters.add(wake);
    signal?.addEventListener('abort', abort, { once: true });
  });
}
