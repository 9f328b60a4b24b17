/**
 * Every isolate of a process under livepatch: the main thread and its worker
 * threads, each with its own module instances and its own engine. The main
 * thread's control socket stays the process's only one; it reaches the
 * worker threads' engines over one BroadcastChannel (unref'd: it never
 * keeps a thread alive), on which every worker answers the same requests as
 * the socket does, for its own engine (`control/handlers.ts`).
 *
 * A request without a thread is for the process as a whole (docs/fleet.md,
 * "Worker threads"): a load reaches every isolate, each runs its own
 * transition, and the load succeeds only when every isolate enabled the
 * patch; when one refuses, every isolate that enabled it is reverted and
 * the error names the refusing thread. A write reaches every isolate that
 * has the entry; a read gathers them. A request with `thread` goes to that
 * isolate alone (0 is the main thread).
 *
 * The kernel has no counterpart: it patches one kernel. The rule is
 * all-or-nothing in outcome, not in time: isolates that enable the patch
 * before a later one refuses run the new code for that window, as the
 * tasks switched early in a klp transition that is later reversed do.
 */
import { errorFromJSON, isLivepatchError, lpError, type ErrorJSON, type LivepatchError } from '../errors.js';
import { listPatches } from '../host.js';
import { pr } from '../log.js';
import type { Envelope, PatchInfo, Request, RequestOf, RequestType, Results, ThreadInfo, TransitionStatus } from '../protocol.js';
import { isolateHandlers, threadIdOf, Usage, type Connection, type Handlers } from '../control/handlers.js';
import type { LoaderConfig } from '../loader/config.js';
import { publishPatchSet } from './inherit.js';

const CHANNEL = 'livepatch:threads';
/** How long a worker thread may take to answer a request that carries no deadline of its own. */
const THREAD_TIMEOUT_MS = 10_000;
/**
 * How long before a request's deadline the main thread stops waiting for a
 * worker's answer, so that it can still answer its client in time: a read
 * is answered without that thread, and a load counts the thread as refusing,
 * with time left to revert the others.
 */
const READ_MARGIN_MS = 250;
const LOAD_MARGIN_MS = 1000;
/** A load a worker completes this long before its deadline or later is reverted there: the main thread stops waiting for it by then. */
const LOAD_CUTOFF_MS = 1500;
/** How long a refused load without a deadline waits for the isolates that enabled the patch to complete their reversal. */
const REVERT_WAIT_MS = 15_000;

type Message =
  | { kind: 'hello'; thread: number; patches: string[] }
  | { kind: 'gone'; thread: number }
  | { kind: 'request'; to: number; id: number; request: Request & Envelope }
  | { kind: 'response'; from: number; id: number; ok: true; result: unknown }
  | { kind: 'response'; from: number; id: number; ok: false; error: ErrorJSON };

/** An error of `thread`, saying so (thread 0 is the main thread). */
function inThread(err: unknown, thread: number): LivepatchError {
  const coded = isLivepatchError(err) ? err : lpError('ERR_LP_INTERNAL', { detail: String((err as Error)?.message ?? err) });
  return errorFromJSON({ ...coded.toJSON(), thread });
}

type Channel = import('node:worker_threads').BroadcastChannel;

/** Whether `data` has the shape of a message of the channel: anything else, from code that shares its name, is passed over. */
function isMessage(data: unknown): data is Message {
  const m = data as Partial<Record<string, unknown>> | null;
  if (typeof m !== 'object' || m === null) return false;
  const thread = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  switch (m.kind) {
    case 'hello': return thread(m.thread) && Array.isArray(m.patches);
    case 'gone': return thread(m.thread);
    case 'request': return thread(m.to) && Number.isSafeInteger(m.id) && typeof m.request === 'object' && m.request !== null;
    case 'response': return thread(m.from) && Number.isSafeInteger(m.id) && typeof m.ok === 'boolean';
    default: return false;
  }
}

function openChannel(onMessage: (m: Message) => void): Channel {
  const channel = new (process.getBuiltinModule('node:worker_threads').BroadcastChannel)(CHANNEL);
  channel.unref();
  channel.onmessage = (event) => {
    const data = (event as { data: unknown }).data;
    if (!isMessage(data)) return;
    try {
      onMessage(data);
    } catch (err) {
      // A message handler must never throw into the program.
      pr('warn', `thread channel: ${(err as Error)?.message ?? err}`);
    }
  };
  return channel;
}

/**
 * A worker that this thread starts leaves the set of threads when it exits:
 * this thread, its creator, says so (a worker cannot announce its own end).
 */
function announceExits(channel: Channel): void {
  process.on('worker', (worker) => {
    const thread = worker.threadId;
    worker.once('exit', () => channel.postMessage({ kind: 'gone', thread } satisfies Message));
  });
}

/** A connection for requests relayed from the main thread: a followed log is the main thread's only. */
const RELAYED: Connection = {
  send: () => {},
  onClose: () => {},
};

/**
 * In a worker thread: answers the main thread's requests for this thread's
 * engine, and says hello with the patches it runs, so that the main thread
 * brings it up to the process's patch set.
 */
export function serveThread(config: LoaderConfig): void {
  const me = threadIdOf();
  const handlers = isolateHandlers(config, new Usage());
  // Loads and writes run one after another, in the order they were sent: a revert sent after a load reverts it.
  let changes: Promise<unknown> = Promise.resolve();
  const channel = openChannel((m) => {
    if (m.kind !== 'request' || m.to !== me) return;
    const { id, request } = m;
    const changing = request.type === 'load' || request.type === 'sys-write';
    // Runs from the channel's message event (or after the previous change), with an empty stack, as the engine requires.
    const answered = (changing ? changes : Promise.resolve())
      .then(() => {
        if (request.type === 'log' && request.follow) throw lpError('ERR_LP_PROTOCOL', { detail: 'log follow is for the main thread only' });
        return (handlers[request.type] as (r: typeof request, c: Connection) => unknown)(request, RELAYED);
      })
      .then((result) => (request.type === 'load' ? withinDeadline(handlers, request, result as PatchInfo, me) : result))
      .then(
        (result) => channel.postMessage({ kind: 'response', from: me, id, ok: true, result } satisfies Message),
        (err) => channel.postMessage({ kind: 'response', from: me, id, ok: false, error: inThread(err, me).toJSON() } satisfies Message),
      )
      .finally(() => {
        if (changing) publishPatchSet(config.app);
      });
    if (changing) changes = answered.catch(() => {});
  });
  announceExits(channel);
  channel.postMessage({ kind: 'hello', thread: me, patches: listPatches().map((p) => p.name) } satisfies Message);
}

/**
 * A load this thread completed too close to its deadline (LOAD_CUTOFF_MS)
 * is reverted here and refused: the main thread has counted this thread
 * as refusing it by then,
 * and may have reverted the other threads, so keeping it would leave this
 * thread alone on the new code.
 */
async function withinDeadline(handlers: Handlers, request: RequestOf<'load'> & Envelope, info: PatchInfo, me: number): Promise<PatchInfo> {
  if (request.deadline === undefined || Date.now() < request.deadline - LOAD_CUTOFF_MS) return info;
  await handlers['sys-write']({ type: 'sys-write', path: `livepatch/${info.name}/enabled`, value: '0', id: request.id }, RELAYED);
  throw lpError('ERR_LP_NOT_RESPONDING', { thread: me, detail: `${process.pid} (thread ${me} enabled '${info.name}' after the deadline, and reverted it)` });
}

interface Pending {
  thread: number;
  resolve(result: unknown): void;
  reject(err: LivepatchError): void;
  timer: NodeJS.Timeout;
}

/** In the main thread: the worker threads under livepatch, and requests to them. */
export class ThreadHub {
  readonly #channel: Channel;
  readonly #threads = new Set<number>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor() {
    this.#channel = openChannel((m) => this.#receive(m));
    announceExits(this.#channel);
  }

  /** The worker threads' ids, in the order they said hello. */
  get threads(): number[] {
    return [...this.#threads];
  }

  /** Sends `request` to worker `thread`; rejects with the thread's error, named with its id. */
  ask<T extends RequestType>(thread: number, request: RequestOf<T> & Partial<Envelope>): Promise<Results[T]> {
    if (!this.#threads.has(thread)) return Promise.reject(lpError('ERR_LP_NO_THREAD', { detail: `${thread} in process ${process.pid}` }));
    const id = this.#nextId++;
    const margin = request.type === 'load' ? LOAD_MARGIN_MS : READ_MARGIN_MS;
    const waitMs = request.deadline === undefined ? THREAD_TIMEOUT_MS : Math.max(request.deadline - Date.now() - margin, 100);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(lpError('ERR_LP_NOT_RESPONDING', { thread, detail: `${process.pid} (thread ${thread})` }));
      }, waitMs).unref();
      this.#pending.set(id, { thread, resolve: resolve as (r: unknown) => void, reject, timer });
      const { thread: _, ...rest } = request as RequestOf<T> & Partial<Envelope>;
      this.#channel.postMessage({ kind: 'request', to: thread, id, request: { ...rest, id } as Request & Envelope } satisfies Message);
    });
  }

  #receive(m: Message): void {
    if (m.kind === 'hello') {
      this.#threads.add(m.thread);
      this.#catchUp(m.thread, m.patches);
    } else if (m.kind === 'gone') {
      this.#threads.delete(m.thread);
      for (const [id, pending] of this.#pending) {
        if (pending.thread !== m.thread) continue;
        this.#pending.delete(id);
        clearTimeout(pending.timer);
        pending.reject(lpError('ERR_LP_NO_THREAD', { detail: `${m.thread} in process ${process.pid}: it exited` }));
      }
    } else if (m.kind === 'response') {
      const pending = this.#pending.get(m.id);
      if (!pending || pending.thread !== m.from) return;
      this.#pending.delete(m.id);
      clearTimeout(pending.timer);
      if (m.ok) pending.resolve(m.result);
      else pending.reject(errorFromJSON(m.error));
    }
  }

  /**
   * A thread that started while a load was under way took the patch set
   * as it was when it was created: it is given the patches from files the
   * main thread runs and it lacks. A refusal there is logged, as one at a
   * thread's start is.
   */
  #catchUp(thread: number, has: string[]): void {
    for (const patch of listPatches()) {
      if (!patch.enabled || patch.source === null || has.includes(patch.name)) continue;
      this.ask<'load'>(thread, { type: 'load', file: patch.source, unloaded: 'allow' }).catch((err) => {
        pr('warn', `thread ${thread} did not take patch '${patch.name}': ${(err as Error).message}`);
      });
    }
  }
}

/** The transitions of several isolates as one: their tasks added up, their blocking tasks with their threads. */
function mergeTransitions(statuses: [number, TransitionStatus | null][]): TransitionStatus | null {
  const running = statuses.filter((s): s is [number, TransitionStatus] => s[1] !== null);
  if (running.length === 0) return null;
  const [, first] = running[0];
  return {
    ...first,
    switched: running.reduce((n, [, s]) => n + s.switched, 0),
    total: running.reduce((n, [, s]) => n + s.total, 0),
    blocking: running.flatMap(([thread, s]) => s.blocking.map((b) => (thread === 0 ? b : { ...b, thread }))),
  };
}

/** Asks every worker thread, leaving out one that exited or did not answer (a read of the whole process is best effort). */
async function gather<T extends RequestType>(hub: ThreadHub, request: RequestOf<T> & Partial<Envelope>): Promise<[number, Results[T]][]> {
  const answers = await Promise.all(hub.threads.map(async (thread) => {
    try {
      return [[thread, await hub.ask<T>(thread, request)]] as [number, Results[T]][];
    } catch {
      return [];
    }
  }));
  return answers.flat();
}

function threadInfo(thread: number, list: Results['list']): ThreadInfo {
  return {
    thread,
    patches: list.patches.map(({ name, enabled, transition, forced }) => ({ name, enabled, transition, forced })),
    transition: list.transition,
  };
}

/**
 * The handlers of the process as a whole, in the main thread, made of its
 * own engine's (`isolate`) and the worker threads' (`hub`).
 */
export function processHandlers(isolate: Handlers, hub: ThreadHub, config: LoaderConfig): Handlers {
  /** A request for one thread goes there; 0 is the main thread's engine alone. */
  function routed<T extends RequestType>(type: T, whole: Handlers[T]): Handlers[T] {
    return ((request: RequestOf<T> & Envelope, conn: Connection) => {
      if (request.thread === undefined) return whole(request, conn);
      if (request.thread === 0) return isolate[type](request, conn);
      return hub.ask<T>(request.thread, request);
    }) as Handlers[T];
  }
  const own = <T extends RequestType>(type: T): Handlers[T] => routed(type, isolate[type]);
  const publishing = <T extends RequestType>(handler: Handlers[T]): Handlers[T] => ((request: RequestOf<T> & Envelope, conn: Connection) => {
    const settle = () => publishPatchSet(config.app);
    const result = Promise.resolve().then(() => handler(request, conn));
    result.then(settle, settle);
    return result;
  }) as Handlers[T];

  return {
    hello: isolate.hello,
    process: routed('process', async (request, conn) => {
      const info = await isolate.process(request, conn);
      const lists = await gather<'list'>(hub, { type: 'list', deadline: request.deadline });
      return { ...info, threads: lists.map(([thread, list]) => threadInfo(thread, list)) };
    }),
    load: publishing<'load'>(routed('load', (request, conn) => loadEverywhere(isolate, hub, request, conn))),
    check: own('check'),
    list: routed('list', async (request, conn) => {
      const list = await isolate.list(request, conn);
      if (hub.threads.length === 0) return list;
      const lists = await gather<'list'>(hub, { type: 'list', deadline: request.deadline });
      return { ...list, threads: lists.map(([thread, l]) => threadInfo(thread, l)) };
    }),
    patch: routed('patch', async (request, conn) => {
      if (hub.threads.length === 0) return isolate.patch(request, conn);
      const copies = await gather<'patch'>(hub, { type: 'patch', name: request.name, deadline: request.deadline });
      const threads = copies.map(([thread, { name, enabled, transition, forced }]) => ({ thread, name, enabled, transition, forced }));
      try {
        return { ...(await isolate.patch(request, conn)), threads };
      } catch (err) {
        // A patch loaded into one worker thread only (`load -t`) is described from there.
        if (copies.length === 0) throw err;
        return { ...copies[0][1], threads };
      }
    }),
    transition: routed('transition', async (request, conn) => {
      const [own, others] = await Promise.all([
        isolate.transition(request, conn),
        gather<'transition'>(hub, { type: 'transition', waitMs: request.waitMs, deadline: request.deadline }),
      ]);
      return mergeTransitions([[0, own], ...others]);
    }),
    tasks: routed('tasks', async (request, conn) => {
      const own = await isolate.tasks(request, conn);
      const others = await gather<'tasks'>(hub, { type: 'tasks', deadline: request.deadline });
      return {
        tasks: [...own.tasks, ...others.flatMap(([thread, t]) => t.tasks.map((task) => ({ ...task, thread })))],
        transition: mergeTransitions([[0, own.transition], ...others.map(([thread, t]): [number, TransitionStatus | null] => [thread, t.transition])]),
      };
    }),
    log: routed('log', async (request, conn) => {
      const own = await isolate.log(request, conn);
      // A followed log, and a read after a record, are the main thread's: record numbers are per thread.
      if (request.follow || request.after !== undefined) return own;
      const others = await gather<'log'>(hub, { type: 'log', deadline: request.deadline });
      const records = [...own.records, ...others.flatMap(([thread, l]) => l.records.map((r) => ({ ...r, thread })))];
      return { ...own, records: records.sort((a, b) => a.time - b.time) };
    }),
    modules: own('modules'),
    symbols: own('symbols'),
    'sys-read': own('sys-read'),
    'sys-write': publishing<'sys-write'>(routed('sys-write', (request, conn) => writeEverywhere(isolate, hub, request, conn))),
  };
}

/**
 * A load for the whole process: every isolate loads and enables the patch,
 * and the load stands only when all of them did. Every isolate loads it with
 * `unloaded: 'allow'`, since a worker thread may well run none of the
 * patched modules; `refuse` then holds for the process: a module loaded in
 * no thread refuses the patch.
 */
async function loadEverywhere(isolate: Handlers, hub: ThreadHub, request: RequestOf<'load'> & Envelope, conn: Connection): Promise<Results['load']> {
  const workers = hub.threads;
  if (workers.length === 0) return isolate.load(request, conn);
  const each = { ...request, unloaded: 'allow' as const };
  const targets = [0, ...workers];
  const settled = await Promise.allSettled(targets.map((thread) => (thread === 0 ? isolate.load(each, conn) : hub.ask<'load'>(thread, each))));
  const enabled: [number, PatchInfo][] = [];
  let refusal: LivepatchError | null = null;
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') enabled.push([targets[i], outcome.value]);
    else refusal ??= inThread(outcome.reason, targets[i]);
  });
  if (refusal === null && request.unloaded !== 'allow') refusal = unloadedEverywhere(enabled.map(([, info]) => info));
  if (refusal === null) {
    const main = enabled.find(([thread]) => thread === 0)![1];
    return { ...main, threads: enabled.map(([thread]) => thread) };
  }
  const name = enabled[0]?.[1].name;
  if (name !== undefined) {
    // A thread that did not answer in time may still enable it: the revert, queued after its load, undoes that.
    for (const [i, outcome] of settled.entries()) {
      if (outcome.status === 'rejected' && isLivepatchError(outcome.reason, 'ERR_LP_NOT_RESPONDING') && targets[i] !== 0) {
        hub.ask<'sys-write'>(targets[i], { type: 'sys-write', path: `livepatch/${name}/enabled`, value: '0' }).catch(() => {});
      }
    }
    // Each reverted isolate is given until the request's deadline to complete its reversal, so that the error leaves no transition behind.
    const waitMs = request.deadline === undefined ? REVERT_WAIT_MS : Math.max(request.deadline - Date.now() - 2 * READ_MARGIN_MS, 0);
    await Promise.allSettled(enabled.map(async ([thread]) => {
      const revert = { type: 'sys-write' as const, path: `livepatch/${name}/enabled`, value: '0', id: request.id, deadline: request.deadline };
      const wait = { type: 'transition' as const, waitMs, id: request.id, deadline: request.deadline };
      if (thread === 0) {
        await isolate['sys-write'](revert, conn);
        await isolate.transition(wait, conn);
      } else {
        await hub.ask<'sys-write'>(thread, revert);
        await hub.ask<'transition'>(thread, wait);
      }
    }));
    pr('warn', `patch '${name}' refused in ${refusal.context.thread === undefined ? 'the process' : `thread ${refusal.context.thread}`}: reverted in thread${enabled.length === 1 ? '' : 's'} ${enabled.map(([t]) => t).join(', ')}`);
  }
  // A catalog error of the refusing isolate, with its thread (inThread), or ERR_LP_NOT_LOADED.
  throw refusal;
}

/** ERR_LP_NOT_LOADED for the modules of a patch that no isolate has loaded, or null. */
function unloadedEverywhere(infos: PatchInfo[]): LivepatchError | null {
  const modules = infos[0]?.objects.map((o) => o.module) ?? [];
  const missing = modules.filter((module) => infos.every((info) => (info.objects.find((o) => o.module === module)?.instances ?? 0) === 0));
  if (missing.length === 0) return null;
  return lpError('ERR_LP_NOT_LOADED', { patch: infos[0].name, detail: `${missing.map((m) => `'${m}'`).join(', ')} (in no thread of the process)` });
}

/** A write for the whole process reaches every isolate; it fails only when it failed in every one, with the main thread's error. */
async function writeEverywhere(isolate: Handlers, hub: ThreadHub, request: RequestOf<'sys-write'> & Envelope, conn: Connection): Promise<Results['sys-write']> {
  const [own, ...others] = await Promise.allSettled([
    Promise.resolve().then(() => isolate['sys-write'](request, conn)),
    ...hub.threads.map((thread) => hub.ask<'sys-write'>(thread, request)),
  ]);
  if (own.status === 'fulfilled') return own.value;
  const done = others.find((o) => o.status === 'fulfilled');
  if (done) return done.value;
  // The main thread's catalog error: the write failed in every isolate.
  throw own.reason;
}

/** Starts the main thread's side: the hub, and the handlers the control socket serves. */
export function processWide(config: LoaderConfig): (isolate: Handlers) => Handlers {
  const hub = new ThreadHub();
  return (isolate) => processHandlers(isolate, hub, config);
}
