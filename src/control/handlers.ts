/**
 * What a process under livepatch answers on its control socket, request by
 * request, for one engine: the isolate it runs in. The control server
 * (`server.ts`) serves these in the main thread; each worker thread answers
 * the same requests for its own engine, relayed by the main thread
 * (`fleet/threads.ts`), which also makes the answers for the process as a
 * whole out of them.
 *
 * Requests run from the event loop with an empty stack (a socket's data
 * callback, a channel's message), which is where the engine requires writes
 * that start or turn transitions to run.
 */
import path from 'node:path';
import { readSys, writeSys } from '../engine/sysfs.js';
import { lpError } from '../errors.js';
import {
  checkPatch, consistency, installedStatus, listModules, listPatches, listTasks, loadPatch, moduleSymbols, patchedFunctions, patchInfo, pinnedPatches,
  replacedBy, transitionStatus, waitForTransition,
} from '../host.js';
import { followLog, readLog } from '../log.js';
import type { LoaderConfig } from '../loader/config.js';
import { VERSION } from '../version.js';
import { watchStatus } from '../watch/watcher.js';
import {
  PROTOCOL_VERSION,
  type Envelope, type ProcessRole, type RequestOf, type RequestType, type Results, type WatchStatus,
} from '../protocol.js';

export interface Connection {
  /** Sends one more response to request `id` (a followed log). */
  send<T extends RequestType>(id: number, result: Results[T]): void;
  onClose(fn: () => void): void;
}

export type Handlers = {
  [T in RequestType]: (request: RequestOf<T> & Envelope, conn: Connection) => Results[T] | Promise<Results[T]>;
};

/** Longest a `transition` request waits for completion; the CLI polls for progress in between. */
export const MAX_WAIT_MS = 60_000;
/** `log -f` followers at once in the process: every log line costs each of them a send. */
export const MAX_FOLLOWERS = 16;

/** What the connections of this process hold at once, counted against the limits. */
export class Usage {
  connections = 0;
  followers = 0;
}

/** A client's duration as a timer takes it: whole milliseconds, from 0 to the longest a timer waits (about 24 days). */
export function timerMs(ms: number): number {
  return Math.min(Math.max(Math.ceil(ms), 0), 2 ** 31 - 1);
}

/** When the process started, in milliseconds since the epoch; `livepatch log` prints times relative to it. */
export const START_TIME = Math.round(performance.timeOrigin);

/**
 * Aborts when a request's deadline passes: a patch module whose top level is
 * still running then is refused (AbortSignal.timeout's timer is unref'd, so
 * a load in progress does not keep the program alive).
 */
export function deadlineSignal(request: Envelope): AbortSignal | undefined {
  return request.deadline === undefined ? undefined : AbortSignal.timeout(timerMs(request.deadline - Date.now()));
}

/**
 * A `cluster` worker, a cluster primary that has workers, or a process on
 * its own. Asked only on a `process` request, so a program that never uses
 * `node:cluster` loads it only then.
 */
export function processRole(): ProcessRole {
  const cluster = process.getBuiltinModule('node:cluster') as unknown as { isWorker: boolean; workers?: Record<string, unknown> };
  if (cluster.isWorker) return 'worker';
  return Object.keys(cluster.workers ?? {}).length > 0 ? 'primary' : 'process';
}

/** The `watch` field of the `process` answer: present when the process converges to a patch directory. */
function watching(): { watch?: WatchStatus } {
  const watch = watchStatus();
  return watch ? { watch } : {};
}

/** The handlers of one engine; `process` reports no threads and the engine's own state, which the process-wide handlers complete. */
export function isolateHandlers(config: LoaderConfig, usage: Usage): Handlers {
  return {
    hello: () => ({ pid: process.pid, protocol: PROTOCOL_VERSION, livepatch: VERSION }),
    process: () => ({
      pid: process.pid,
      argv: process.argv,
      execArgv: process.execArgv,
      node: process.version,
      livepatch: VERSION,
      consistency: consistency(),
      root: config.root,
      installDir: config.installDir,
      startTime: START_TIME,
      patches: listPatches().map(({ name, enabled, transition, forced }) => ({ name, enabled, transition, forced })),
      installed: installedStatus(),
      app: config.app,
      role: processRole(),
      transition: transitionStatus(),
      threads: [],
      ...watching(),
    }),
    load: async (request) => {
      // A relative path would resolve against this process's directory, not the caller's.
      if (!path.isAbsolute(request.file)) throw lpError('ERR_LP_PROTOCOL', { detail: 'load.file must be an absolute path' });
      if (request.unloaded !== undefined && request.unloaded !== 'allow' && request.unloaded !== 'refuse') {
        throw lpError('ERR_LP_PROTOCOL', { detail: "load.unloaded must be 'allow' or 'refuse'" });
      }
      const info = await loadPatch(request.file, { unloaded: request.unloaded, signal: deadlineSignal(request) });
      return { ...info, threads: [threadIdOf()] };
    },
    check: (request) => {
      if (!path.isAbsolute(request.file)) throw lpError('ERR_LP_PROTOCOL', { detail: 'check.file must be an absolute path' });
      return checkPatch(request.file, deadlineSignal(request));
    },
    list: () => ({
      patches: listPatches(),
      pinned: pinnedPatches(),
      functions: patchedFunctions(),
      transition: transitionStatus(),
      installDir: config.installDir,
      installed: installedStatus(),
    }),
    patch: (request) => {
      // A freed forced patch is still worth describing: its code may still run.
      const found = patchInfo(request.name) ?? pinnedPatches().find((p) => p.name === request.name);
      if (found) return found;
      const by = replacedBy(request.name);
      if (by !== undefined) throw lpError('ERR_LP_REPLACED', { patch: request.name, detail: by });
      throw lpError('ERR_LP_NO_PATCH', { patch: request.name });
    },
    transition: async (request) => {
      const waitMs = timerMs(Math.min(request.waitMs ?? 0, MAX_WAIT_MS, (request.deadline ?? Infinity) - Date.now()));
      if (waitMs > 0 && transitionStatus()) {
        // AbortSignal.timeout's timer is unref'd, and the aborted wait unregisters itself.
        await waitForTransition({ signal: AbortSignal.timeout(waitMs) }).catch(() => {});
      }
      return transitionStatus();
    },
    tasks: () => ({ tasks: listTasks(), transition: transitionStatus() }),
    log: (request, conn) => {
      if (request.follow && usage.followers >= MAX_FOLLOWERS) throw lpError('ERR_LP_LIMIT', { detail: `${MAX_FOLLOWERS} log followers are following` });
      const records = readLog(request.after ?? 0);
      if (request.follow) {
        usage.followers++;
        const unfollow = followLog((record) => conn.send<'log'>(request.id, { records: [record], startTime: START_TIME }));
        conn.onClose(() => {
          unfollow();
          usage.followers--;
        });
      }
      return { records, startTime: START_TIME };
    },
    modules: () => ({ modules: listModules() }),
    symbols: (request) => {
      const found = moduleSymbols(request.module);
      if (!found) throw lpError('ERR_LP_NO_MODULE', { detail: request.module });
      return { module: found.id, symbols: found.symbols };
    },
    'sys-read': (request) => readSys(request.path),
    'sys-write': (request) => ({ path: writeSys(request.path, request.value), value: request.value }),
  };
}

/** This thread's id: 0 in the main thread. */
export function threadIdOf(): number {
  return process.getBuiltinModule('node:worker_threads').threadId;
}
