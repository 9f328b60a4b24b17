/**
 * Tasks and their live frames: the analog of `task_struct`, its
 * `patch_state`/`TIF_PATCH_PENDING`, and the reliable stack walk.
 *
 * A task is a logical thread of execution carried across `await` by
 * AsyncLocalStorage. Code outside any task belongs to the root task, the
 * analog of the idle task. A synchronous frame can never be live when a
 * transition step runs (steps run from the event loop with an empty stack),
 * so the only frames a transition must see are suspended async functions and
 * generators. Each of those counts its live invocations per task in
 * `task.live[counter]`, incremented on entry and decremented in `finally`.
 *
 * Two consistency modes:
 * - `per-task` (the kernel's model): one AsyncLocalStorage store per task.
 *   Entering any store turns on promise hooks in Node 20, which makes an
 *   awaited async call ~3x slower; the counters on top cost +20-40 ns.
 * - `global`: no AsyncLocalStorage; the whole process is the root task and
 *   a transition completes when no old frame is live anywhere.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { isMainThread, threadId } from 'node:worker_threads';
import type { FrameToken } from './abi.js';

/** `KLP_TRANSITION_IDLE`, `KLP_TRANSITION_UNPATCHED`, `KLP_TRANSITION_PATCHED`. */
export const IDLE = -1;
export const UNPATCHED = 0;
export const PATCHED = 1;
export type PatchState = typeof IDLE | typeof UNPATCHED | typeof PATCHED;

export type ConsistencyMode = 'per-task' | 'global';

const NO_FRAMES = new Int32Array(0);

export class Task {
  readonly id: number;
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly startTime = Date.now();
  /** Live frames per counter index; grown on demand, see `enter`. */
  live: Int32Array = NO_FRAMES;
  /** The state this task sees functions in; IDLE outside transitions. */
  patchState: PatchState;
  /** TIF_PATCH_PENDING: the task still has to switch to the target state. */
  pending: boolean;
  /** The function the last switch attempt found this task suspended in (diagnostics). */
  blockedOn: string | null = null;

  constructor(id: number, name: string, parent: Task | null) {
    this.id = id;
    this.name = name;
    // Fork inheritance: a task created during a transition starts in its
    // creator's state, pending flag included (klp_copy_process). Starting
    // it IDLE would mix versions after a reverse.
    this.patchState = parent ? parent.patchState : IDLE;
    this.pending = parent ? parent.pending : false;
  }

  /** Number of live frames this task holds of counter `index`. */
  frames(index: number): number {
    return index >= 0 && index < this.live.length ? this.live[index] : 0;
  }
}

let mode: ConsistencyMode = 'per-task';
let als: AsyncLocalStorage<Task> | null = null;
let nextTaskId = 1;
let counterCount = 0;

export const root = new Task(0, isMainThread ? 'root' : `worker:${threadId}`, null);

/**
 * Every task, weakly: a task that nothing references any more cannot hold a
 * live frame, so it can neither block nor need a switch. Dead references are
 * swept when the list doubles.
 */
let taskRefs: WeakRef<Task>[] = [];
let sweepAt = 1024;

/** Called when a pending task's last live frame of a counter exits (event-driven completion). */
let onFrameExit: (task: Task) => void = () => {};

export function setFrameExitHook(fn: (task: Task) => void): void {
  onFrameExit = fn;
}

export function consistencyMode(): ConsistencyMode {
  return mode;
}

/**
 * Chooses the consistency mode. Called once by the runtime installer, before
 * any instrumented code runs.
 */
export function initTasks(chosen: ConsistencyMode): void {
  mode = chosen;
  if (mode === 'global') return;
  als = new AsyncLocalStorage<Task>();
  // Each incoming HTTP(S) request runs in its own task, created in the
  // listener's context so it inherits that context's patch state. The
  // channel is published synchronously before the 'request' event.
  diagnostics.subscribe('http.server.request.start', (message) => {
    const { request } = message as { request: { method?: string; url?: string } };
    als!.enterWith(createTask(`${request.method ?? 'HTTP'} ${(request.url ?? '').slice(0, 120)}`));
  });
}

/** The task running now: the AsyncLocalStorage store, or the root task. */
export function currentTask(): Task {
  if (als === null) return root;
  const task = als.getStore();
  return task === undefined ? root : task;
}

function createTask(name: string): Task {
  const task = new Task(nextTaskId++, name, currentTask());
  taskRefs.push(new WeakRef(task));
  if (taskRefs.length > sweepAt) {
    taskRefs = taskRefs.filter((ref) => ref.deref() !== undefined);
    sweepAt = Math.max(1024, taskRefs.length * 2);
  }
  return task;
}

/**
 * Runs `fn` as a new named task, a child of the current one. In `global`
 * mode the process is one task and `fn` simply runs.
 */
export function runTask<T>(name: string, fn: () => T): T {
  if (als === null) return fn();
  return als.run(createTask(name), fn);
}

/** Calls `fn` for the root task and every task still alive. */
export function forEachTask(fn: (task: Task) => void): void {
  fn(root);
  for (const ref of taskRefs) {
    const task = ref.deref();
    if (task !== undefined) fn(task);
  }
}

/** Reserves `n` consecutive live-frame counters and returns the first index. */
export function allocateCounters(n: number): number {
  const base = counterCount;
  counterCount += n;
  return base;
}

function grow(task: Task, index: number): void {
  const live = new Int32Array(Math.max(counterCount, index + 1));
  live.set(task.live);
  task.live = live;
}

/*
 * The four calls below are what instrumented code runs on every async call
 * and generator start; see `instrument.ts` for the generated shape. A
 * counter index is NaN when a module's function runs before its header (an
 * ESM cycle); such frames are not counted, because no patch can apply to the
 * module before it announces itself.
 */

export function enter(index: number): Task {
  const task = als === null ? root : (als.getStore() ?? root);
  const live = task.live;
  if (index < live.length) {
    live[index]++;
  } else if (index >= 0) {
    grow(task, index);
    task.live[index]++;
  }
  return task;
}

export function leave(task: Task, index: number): void {
  // `task.live` may have been replaced by `grow` since `enter`.
  if (--task.live[index] === 0 && task.pending) onFrameExit(task);
}

interface FrameRecord {
  task: Task;
  index: number;
  released: boolean;
}

/*
 * A generator abandoned while suspended never runs its `finally`. Its frame
 * token is referenced from that `finally`, so the token lives exactly as long
 * as the suspended frame; when the generator is collected the registry
 * releases the frame. One registration per generator start (~0.5 us) is
 * affordable; per async call it would not be.
 */
const abandoned = new FinalizationRegistry<FrameRecord>((record) => releaseFrame(record));

function releaseFrame(record: FrameRecord): void {
  if (record.released) return;
  record.released = true;
  leave(record.task, record.index);
}

export function enterGen(index: number): FrameToken {
  const record: FrameRecord = { task: enter(index), index, released: false };
  const token = { record };
  if (index >= 0) abandoned.register(token, record);
  return token as FrameToken;
}

export function leaveGen(token: FrameToken): void {
  releaseFrame(token.record as FrameRecord);
}
