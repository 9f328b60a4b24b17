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
 * Only tasks that hold live frames can block a transition, and a task that
 * holds none can switch at any transition step. So the engine tracks only
 * the tasks that hold frames, and a task's patch state is kept lazily: an
 * explicit state is valid for the transition generation that set it; any
 * other task is in the initial state until the transition starts and in the
 * target state after. Init, start and completion touch no frameless task.
 *
 * Two consistency modes:
 * - `per-task` (the kernel's model): one AsyncLocalStorage store per task.
 *   Entering any store turns on promise hooks in Node 20, which makes an
 *   awaited async call ~3x slower; the counters on top cost +40-80 ns.
 * - `global`: no AsyncLocalStorage; the whole process is the root task and
 *   a transition completes when no old frame is live anywhere.
 */
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import type { FrameToken } from './abi.js';

/** `KLP_TRANSITION_IDLE`, `KLP_TRANSITION_UNPATCHED`, `KLP_TRANSITION_PATCHED`. */
export const IDLE = -1;
export const UNPATCHED = 0;
export const PATCHED = 1;
export type PatchState = typeof IDLE | typeof UNPATCHED | typeof PATCHED;

export type ConsistencyMode = 'per-task' | 'global';

const NO_FRAMES = new Int32Array(0);

/** What an HTTP task is named after; formatted only when the name is read. */
interface RequestLike {
  method?: string;
  url?: string;
}

export class Task {
  readonly id: number;
  /** The name, or what it is made from when it is read (see `name`). */
  private readonly label: string | RequestLike | (() => string);
  /** Milliseconds since the epoch. */
  readonly startTime = Date.now();
  /** Live frames per counter index; grown on demand, see `enter`. */
  live: Int32Array = NO_FRAMES;
  /** Live frames in all counters: the task is tracked while this is not zero. */
  liveFrames = 0;
  /** Explicit patch state, valid while `gen` is the current generation; see `patchStateOf`. */
  state: PatchState = IDLE;
  gen = -1;
  /** The function the last switch attempt found this task suspended in (diagnostics). */
  blockedOn: string | null = null;
  /** Set once the task is tracked weakly (it held frames across a sweep). */
  ref: WeakRef<Task> | null = null;
  /** Links in the list of strongly tracked tasks; `listed` tells whether it is in it. */
  listed = false;
  prev: Task | null = null;
  next: Task | null = null;

  constructor(id: number, label: string | RequestLike | (() => string), parent: Task | null) {
    this.id = id;
    this.label = label;
    // Fork inheritance: a task created during a transition starts in its
    // creator's state (klp_copy_process). Starting it in the target state
    // would mix versions after a reverse. A pending task is tracked until a
    // switch attempt finds it safe.
    if (parent && target !== IDLE) {
      setPatchState(this, patchStateOf(parent));
      if (isPending(this)) track(this);
    }
  }

  get name(): string {
    const label = this.label;
    if (typeof label === 'string') return label;
    if (typeof label === 'function') return label();
    return `${label.method ?? 'HTTP'} ${(label.url ?? '').slice(0, 120)}`;
  }

  /** The state this task sees functions in: IDLE, UNPATCHED or PATCHED. */
  get patchState(): PatchState {
    return patchStateOf(this);
  }

  /** TIF_PATCH_PENDING: the task still has to switch to the target state. */
  get pending(): boolean {
    return isPending(this);
  }

  /** Number of live frames this task holds of counter `index`. */
  frames(index: number): number {
    return index >= 0 && index < this.live.length ? this.live[index] : 0;
  }
}

/*
 * The transition as tasks see it. `gen` changes at every init, reverse and
 * completion, which makes every explicit state stale at once. Written only
 * by the transition steps below, from `engine/transition.ts`.
 */
let gen = 0;
let target: PatchState = IDLE;
let initial: PatchState = IDLE;
let started = false;

/** The state a task sees functions in (`task->patch_state`, `/proc/<pid>/patch_state`). */
function patchStateOf(task: Task): PatchState {
  if (task.gen === gen) return task.state;
  if (target === IDLE) return IDLE;
  return started ? target : initial;
}

/** TIF_PATCH_PENDING: the task still has to switch to the target state. */
export function isPending(task: Task): boolean {
  return target !== IDLE && patchStateOf(task) !== target;
}

export function setPatchState(task: Task, state: PatchState): void {
  task.gen = gen;
  task.state = state;
}

/** `klp_init_transition`'s per-task part: every task is in the initial state. */
export function initTaskStates(initialState: PatchState, targetState: PatchState): void {
  gen++;
  initial = initialState;
  target = targetState;
  started = false;
}

/**
 * `klp_start_transition`'s per-task part. A task holding frames keeps the
 * initial state until a switch attempt finds it safe; a frameless task is in
 * the target state from now on, as if switched by the first attempt: nothing
 * of it can be on a stack.
 */
export function startTaskStates(): void {
  forEachTask((task) => {
    if (task.liveFrames > 0 && task.gen !== gen) setPatchState(task, initial);
  });
  started = true;
}

/**
 * `klp_reverse_transition`'s per-task part: tasks holding frames keep the
 * state they are in; frameless ones are at the new target at once.
 */
export function reverseTaskStates(): void {
  const held: [Task, PatchState][] = [];
  forEachTask((task) => {
    if (task.liveFrames > 0) held.push([task, patchStateOf(task)]);
  });
  gen++;
  target = target === PATCHED ? UNPATCHED : PATCHED;
  initial = target === PATCHED ? UNPATCHED : PATCHED;
  started = true;
  for (const [task, state] of held) setPatchState(task, state);
}

/**
 * `klp_force_transition`'s per-task part: every task is at the target now,
 * whatever it is running (frameless ones already are).
 */
export function forceTaskStates(): void {
  forEachTask((task) => {
    if (isPending(task)) setPatchState(task, target);
  });
}

/** `klp_complete_transition`'s per-task part: every task is IDLE. */
export function endTaskStates(): void {
  gen++;
  target = IDLE;
  initial = IDLE;
  started = false;
  forEachTask(untrackIdle);
}

export function targetState(): PatchState {
  return target;
}

let mode: ConsistencyMode = 'per-task';
let als: AsyncLocalStorage<Task> | null = null;
let nextTaskId = 1;
let counterCount = 0;

/** The root task: `root` in the main thread, `worker:<threadId>` in a worker (worker_threads is loaded only when the name is read). */
export const root = new Task(0, () => {
  const { isMainThread, threadId } = process.getBuiltinModule('node:worker_threads');
  return isMainThread ? 'root' : `worker:${threadId}`;
}, null);

/*
 * The tracked tasks: those holding live frames, and those still pending in
 * a transition (a pending task is tracked until an attempt switches it, or
 * it would keep its old state for good). The root task is never tracked:
 * `forEachTask` always visits it.
 *
 * New ones are held strongly, in an intrusive doubly-linked list: a task is
 * linked on its first live frame and unlinked when its last one exits, so a
 * sequence of awaited calls does both on every call, and neither may hash.
 * A periodic sweep moves the tasks still listed to weak references, so that
 * a task whose suspended frames can never resume (an abandoned generator,
 * an await on a promise nothing will settle) is released when it is
 * collected. Only tasks that live across a sweep pay for a WeakRef (~1 us).
 */
let strongHead: Task | null = null;
let strongTail: Task | null = null;
const weakTasks = new Set<WeakRef<Task>>();
const SWEEP_MS = 5000;

/** Moves every strongly tracked task to weak tracking. */
export function sweepTasks(): void {
  for (let task = strongHead; task !== null;) {
    const next: Task | null = task.next;
    task.ref ??= new WeakRef(task);
    weakTasks.add(task.ref);
    // A link left behind would hold the next task strongly.
    task.listed = false;
    task.prev = task.next = null;
    task = next;
  }
  strongHead = strongTail = null;
}

function track(task: Task): void {
  if (task === root) return;
  if (task.ref) {
    weakTasks.add(task.ref);
  } else if (!task.listed) {
    // Appended, so that tasks are visited (and reported) in the order they
    // took their first frame.
    task.listed = true;
    task.prev = strongTail;
    task.next = null;
    if (strongTail !== null) strongTail.next = task;
    else strongHead = task;
    strongTail = task;
  }
}

/** Stops tracking a task that holds no frame and is not pending; see above. */
export function untrackIdle(task: Task): void {
  if (task.liveFrames !== 0 || task === root || isPending(task)) return;
  if (task.listed) {
    task.listed = false;
    if (task.prev !== null) task.prev.next = task.next;
    else strongHead = task.next;
    if (task.next !== null) task.next.prev = task.prev;
    else strongTail = task.prev;
    task.prev = task.next = null;
  }
  if (task.ref) weakTasks.delete(task.ref);
}

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
  setInterval(sweepTasks, SWEEP_MS).unref();
  if (mode === 'global') return;
  als = new AsyncLocalStorage<Task>();
  // Each incoming HTTP(S) request runs in its own task, whose creator is the
  // listener's context: the task current when the connection was accepted.
  // (The context current when the request starts will not do: `enterWith`
  // stores the task on the connection's parser, so on a keep-alive
  // connection it is the previous request's task.) HTTPS requests arrive
  // on a TLSSocket whose `_parent` is the accepted socket. Both channels are
  // published synchronously, the second before the 'request' event.
  const creators = new WeakMap<object, Task>();
  diagnostics.subscribe('net.server.socket', (message) => {
    creators.set((message as { socket: object }).socket, currentTask());
  });
  diagnostics.subscribe('http.server.request.start', (message) => {
    const { request } = message as { request: { method?: string; url?: string; socket?: { _parent?: object } } };
    const socket = request.socket;
    const creator = (socket && (creators.get(socket) ?? (socket._parent && creators.get(socket._parent)))) || root;
    als!.enterWith(new Task(nextTaskId++, request, creator));
    cachedAsyncId = -1;
  });
}

/*
 * `als.getStore()` costs ~20 ns (executionAsyncResource, then a megamorphic
 * keyed load), which the handler would pay on every call during a
 * transition. With the async_hooks implementation of AsyncLocalStorage the
 * store lives on the execution's async resource, and each resource has its
 * own `executionAsyncId()`, so the task can be cached per id. The store of
 * a resource changes only by this module's own `run` and `enterWith` (the
 * AsyncLocalStorage is private), and both reset the cache. The
 * AsyncContextFrame implementation (the default from Node 24) keeps no
 * resource per continuation, so the id does not identify the store there;
 * it is recognised by the absence of the hooks implementation's
 * `_propagate`, and gets no cache.
 */
const cacheByAsyncId = typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate === 'function';
let cachedAsyncId = -1;
let cachedTask: Task = root;

/** The task running now: the AsyncLocalStorage store, or the root task. */
export function currentTask(): Task {
  if (als === null) return root;
  if (!cacheByAsyncId) return als.getStore() ?? root;
  const id = executionAsyncId();
  if (id === cachedAsyncId) return cachedTask;
  cachedTask = als.getStore() ?? root;
  cachedAsyncId = id;
  return cachedTask;
}

/**
 * Runs `fn` as a new named task, a child of the current one. In `global`
 * mode the process is one task and `fn` simply runs.
 */
export function runTask<T>(name: string, fn: () => T): T {
  if (als === null) return fn();
  const task = new Task(nextTaskId++, name, currentTask());
  // `run` switches the store within the current execution, on entry and
  // again on exit, so the cached task is stale after each. Nothing between
  // this reset and `fn` reads the cache.
  cachedAsyncId = -1;
  try {
    return als.run(task, fn);
  } finally {
    cachedAsyncId = -1;
  }
}

/**
 * Calls `fn` for the root task and every task holding live frames: the only
 * tasks a transition must look at. Frameless tasks are in the state
 * `patchStateOf` gives them.
 */
export function forEachTask(fn: (task: Task) => void): void {
  fn(root);
  // `fn` may untrack the task it is given, which clears its links.
  for (let task = strongHead; task !== null;) {
    const next: Task | null = task.next;
    fn(task);
    task = next;
  }
  for (const ref of weakTasks) {
    const task = ref.deref();
    if (task === undefined) weakTasks.delete(ref);
    else fn(task);
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
  // Not `currentTask()`: after every `await` the execution id is new, so
  // its cache would miss on nearly every async call.
  const task = als === null ? root : (als.getStore() ?? root);
  if (!(index >= 0)) return task;
  if (index >= task.live.length) grow(task, index);
  task.live[index]++;
  if (task.liveFrames++ === 0) track(task);
  return task;
}

export function leave(task: Task, index: number): void {
  // `task.live` may have been replaced by `grow` since `enter`.
  if (!(index >= 0)) return;
  if (--task.liveFrames === 0 && task !== root) untrackIdle(task);
  if (--task.live[index] === 0 && isPending(task)) onFrameExit(task);
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
