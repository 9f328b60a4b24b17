/**
 * The control protocol, shared by the server (`control/server.ts`, in every
 * process started under livepatch) and the client (`control/client.ts`, the
 * CLI and tests).
 *
 * Each message is one frame (`control/framing.ts`): a 4-byte big-endian
 * length, then UTF-8 JSON. Every request carries the protocol version `v` and an `id`
 * chosen by the client; every response echoes both:
 *
 *     → { v: 1, id: 7, type: 'sys-write', path: 'fix-1/enabled', value: '0' }
 *     ← { v: 1, id: 7, ok: true, result: { path: 'livepatch/fix-1/enabled', value: '0' } }
 *     ← { v: 1, id: 8, ok: false, error: { code: 'ERR_LP_BUSY', errno: 'EBUSY', message, hint, … } }
 *
 * The first request on a connection must be `hello` with the token the
 * process wrote next to its socket; anything else closes the connection
 * with ERR_LP_PERMISSION. A `log` request with `follow` gets one response
 * per batch of records, all with its id, until the client closes.
 * docs/cli.md documents the same.
 *
 * The shapes in which the engine's state crosses the socket (`PatchInfo`,
 * `TransitionStatus`, `SysRead`, …) are defined here, once; the host API
 * returns them in-process too.
 */
import { lpError, type ErrorJSON } from './errors.js';
import type { LogRecord } from './log.js';
import type { SymbolMeta } from './runtime/abi.js';
import type { ConsistencyMode } from './runtime/tasks.js';

export const PROTOCOL_VERSION = 1;

/* What the engine's state looks like on the wire. */

export interface FuncInfo {
  name: string;
  sympos: number;
  nop: boolean;
  transition: boolean;
  /** Hash of the original each loaded instance runs, in instance order. */
  hashes: string[];
  oldHash?: string;
}

export interface ObjectInfo {
  module: string;
  /** The object's funcs are on their func stacks (in at least one loaded instance). */
  patched: boolean;
  /** Loaded instances the object is resolved for. */
  instances: number;
  dynamic: boolean;
  funcs: FuncInfo[];
}

export interface PatchInfo {
  name: string;
  enabled: boolean;
  transition: boolean;
  replace: boolean;
  forced: boolean;
  /** 1-based position in enable order; the highest wins on a shared function. */
  stackOrder: number;
  source: string | null;
  /** Reading, verifying and compiling its patch module, in ms; null for a definition enabled in-process. */
  compileMs: number | null;
  /** Its last completed transition, from start to completion, in ms; null until one completes. */
  transitionMs: number | null;
  states: { id: number; version: number }[];
  objects: ObjectInfo[];
}

export interface TransitionProgress {
  patch: string;
  target: 'patched' | 'unpatched';
  switched: number;
  total: number;
  startedAt: number;
}

export interface TransitionStatus extends TransitionProgress {
  /** The tasks that block it; `thread` names the worker thread of a task outside the main thread. */
  blocking: { task: number; name: string; function: string; thread?: number }[];
}

export interface TaskInfo {
  id: number;
  name: string;
  startTime: number;
  /** -1 idle, 0 unpatched, 1 patched: `/proc/<pid>/patch_state`. */
  patchState: number;
  pending: boolean;
  /** While a transition runs and this task blocks it: `<module>:<function>`. */
  blockedOn: string | null;
  /** The worker thread the task runs in, when it is not the main thread (task ids are per thread). */
  thread?: number;
}

/** A patch as one thread holds it: `ps --all` and `info` show each thread's copy. */
export interface PatchState {
  name: string;
  enabled: boolean;
  transition: boolean;
  forced: boolean;
}

/**
 * One worker thread of a process under livepatch: its own engine, with its
 * patches and its transition. The main thread is thread 0.
 */
export interface ThreadInfo {
  thread: number;
  patches: PatchState[];
  transition: TransitionStatus | null;
}


/**
 * An installed patch in a process (`livepatch installed`, `list`, `ps`):
 * applied at start and still enabled; failed (at start, or for a module that
 * loaded later, so the program runs without it); or unloaded since.
 */
export interface InstalledStatus {
  name: string;
  file: string;
  state: 'applied' | 'failed' | 'unloaded';
  /** Why it failed. */
  error?: ErrorJSON;
}

/**
 * Canonical Livepatch's states of a patch in a process that converges to a
 * patch directory (`watch/`): `applied` (enabled, its transition complete),
 * `applying` (being loaded, or in transition), `apply-failed` (the engine
 * refused it: a module differs, a callback failed), `check-failed` (the
 * file could not be taken as a patch: unreadable, unsigned, a syntax
 * error), `unapplied` (in the directory, and deliberately not running:
 * replaced by a later cumulative patch, or unloaded by an operator).
 */
export type WatchState = 'applied' | 'applying' | 'apply-failed' | 'check-failed' | 'unapplied';

/** One patch file of a watched directory, as the process fares with it. */
export interface WatchedPatch {
  /** The file's name in the directory: the patch's id there. */
  file: string;
  /** The name of the patch the file runs: its version that loaded last; null when none runs. */
  name: string | null;
  state: WatchState;
  /** When `state` last changed, in milliseconds since the epoch. */
  since: number;
  /** Why it failed, for `apply-failed` and `check-failed`. */
  error?: ErrorJSON;
  /** Why it is `unapplied`. */
  note?: string;
  /** Failed attempts at this version of the file. */
  attempts: number;
  /** When the next attempt is due, in milliseconds since the epoch; null when none is. */
  retryAt: number | null;
}

/** A process's convergence to its patch directory: `livepatch ps --json` and the status file. */
export interface WatchStatus {
  pid: number;
  dir: string;
  /** The worst state of its patches (check-failed, apply-failed, applying, unapplied, applied); `applied` when the directory holds none. */
  state: WatchState;
  /** When any state last changed, in milliseconds since the epoch. */
  since: number;
  /** Why the directory itself cannot be read; its patches are then left as they were. */
  error?: ErrorJSON;
  patches: WatchedPatch[];
}

export interface ModuleInfo {
  id: string;
  instance: number;
  location: string;
  state: string;
  symbols: number;
}

export interface PatchedFunction {
  module: string;
  instance: number;
  function: string;
  sympos: number;
  /** Patch names on the func stack, top first; `(nop)` marks nops. */
  stack: string[];
  transition: boolean;
}

export type SysMode = 'dir' | 'ro' | 'rw' | 'wo';

export interface SysEntry {
  path: string;
  mode: SysMode;
  /** The value as read (`"1\n"`); absent for directories and write-only attributes. */
  value?: string;
}

/** What `check` found for one func: the hash each loaded instance runs, and why instances would refuse it. */
export interface FuncCheckInfo {
  name: string;
  sympos: number;
  oldHash: string | null;
  hashes: string[];
  errors: ErrorJSON[];
}

/** A dry run of a patch against the loaded modules: what a load would resolve, and every refusal it would meet. */
export interface PatchCheckInfo {
  name: string;
  replace: boolean;
  /** The patches a replace patch would replace. */
  replaces: string[];
  /** Refusals of the patch as a whole: its definition, its name, its states. */
  errors: ErrorJSON[];
  objects: { module: string; instances: number; funcs: FuncCheckInfo[] }[];
}

/** A read: an attribute's value, or a directory's entries, itself first, depth first. */
export type SysRead =
  | { kind: 'attr'; path: string; value: string }
  | { kind: 'dir'; path: string; entries: SysEntry[] };



export type Request =
  | { type: 'hello'; token: string }
  | { type: 'process' }
  | { type: 'load'; file: string; unloaded?: UnloadedModules }
  | { type: 'check'; file: string }
  | { type: 'list' }
  | { type: 'patch'; name: string }
  | { type: 'transition'; waitMs?: number }
  | { type: 'tasks' }
  | { type: 'log'; after?: number; follow?: boolean }
  | { type: 'modules' }
  | { type: 'symbols'; module: string }
  | { type: 'sys-read'; path: string }
  | { type: 'sys-write'; path: string; value: string };

/**
 * What a load does with an object whose module no instance of is loaded:
 * apply it when the module loads, the kernel's semantics (`allow`), or
 * refuse the patch, since a wrong module id looks just like that (`refuse`).
 */
export type UnloadedModules = 'allow' | 'refuse';

/**
 * What every request carries besides its fields: the client's id, and
 * optionally its deadline, in milliseconds since the epoch (client and
 * process share the host's clock). A request the process reads after its
 * deadline is refused with ERR_LP_NOT_RESPONDING, not acted on: its client
 * has given up on it.
 */
export interface Envelope {
  id: number;
  deadline?: number;
  /**
   * The thread the request is for: a worker's thread id, or 0 for the main
   * thread alone. Without it, a request is for the process as a whole: a
   * load or a write reaches every thread, a read gathers them.
   */
  thread?: number;
}

export type RequestType = Request['type'];
export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

export interface ProcessInfo {
  pid: number;
  argv: string[];
  execArgv: string[];
  node: string;
  livepatch: string;
  consistency: ConsistencyMode;
  /** Application root: module ids of application files are relative to it. */
  root: string;
  installDir: string;
  /** Milliseconds since the epoch. */
  startTime: number;
  patches: { name: string; enabled: boolean; transition: boolean; forced: boolean }[];
  /** The patches installed for its application, as they fared in this process. */
  installed: InstalledStatus[];
  /** Its patch directory and how it converges to it; absent when it watches none. */
  watch?: WatchStatus;
  /** Its application's name, which groups processes for `load --all --app` (docs/fleet.md). */
  app: string;
  /** A `cluster` primary that forked workers, a cluster worker, or a process on its own. */
  role: ProcessRole;
  /** The main thread's running transition, or null. */
  transition: TransitionStatus | null;
  /** Its worker threads under livepatch. */
  threads: ThreadInfo[];
}

export type ProcessRole = 'primary' | 'worker' | 'process';

/** What each request type answers with. */
export interface Results {
  hello: { pid: number; protocol: number; livepatch: string };
  process: ProcessInfo;
  /** The patch as the main thread (or the thread asked) enabled it, and every thread that enabled it. */
  load: PatchInfo & { threads: number[] };
  check: PatchCheckInfo;
  list: {
    patches: PatchInfo[];
    /** Freed patches that were forced: their code may still run. */
    pinned: PatchInfo[];
    functions: PatchedFunction[];
    transition: TransitionStatus | null;
    installDir: string;
    installed: InstalledStatus[];
    /** The worker threads, each with its patches, for a request to the whole process. */
    threads?: ThreadInfo[];
  };
  /** With `threads`, for a request to the whole process: each worker thread's copy of the patch. */
  patch: PatchInfo & { threads?: (PatchState & { thread: number })[] };
  /** The running transition after waiting up to `waitMs` for it to complete; null when idle. */
  transition: TransitionStatus | null;
  tasks: { tasks: TaskInfo[]; transition: TransitionStatus | null };
  log: { records: LogRecord[]; startTime: number };
  modules: { modules: ModuleInfo[] };
  symbols: { module: string; symbols: SymbolMeta[] };
  'sys-read': SysRead;
  'sys-write': { path: string; value: string };
}

export type Response<T extends RequestType = RequestType> =
  | { v: number; id: number | null; ok: true; result: Results[T] }
  | { v: number; id: number | null; ok: false; error: ErrorJSON };

type FieldType = 'string' | 'number' | 'boolean';

/** Each request's fields; a `?` suffix marks an optional one. */
const FIELDS: { [T in RequestType]: Record<Exclude<keyof RequestOf<T>, 'type'>, FieldType | `${FieldType}?`> } = {
  hello: { token: 'string' },
  process: {},
  load: { file: 'string', unloaded: 'string?' },
  check: { file: 'string' },
  list: {},
  patch: { name: 'string' },
  transition: { waitMs: 'number?' },
  tasks: {},
  log: { after: 'number?', follow: 'boolean?' },
  modules: {},
  symbols: { module: 'string' },
  'sys-read': { path: 'string' },
  'sys-write': { path: 'string', value: 'string' },
};

/**
 * Checks a decoded message against the protocol and returns it as a typed
 * request. Throws ERR_LP_PROTOCOL for a malformed one and
 * ERR_LP_UNKNOWN_REQUEST for a well-formed one of an unknown type.
 */
export function checkRequest(message: unknown): Request & Envelope {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw lpError('ERR_LP_PROTOCOL', { detail: 'a request is a JSON object' });
  }
  const m = message as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) {
    throw lpError('ERR_LP_PROTOCOL', { detail: `protocol version ${JSON.stringify(m.v)}, this process speaks ${PROTOCOL_VERSION}` });
  }
  if (!Number.isSafeInteger(m.id)) throw lpError('ERR_LP_PROTOCOL', { detail: 'id must be an integer' });
  if (m.deadline !== undefined && !Number.isFinite(m.deadline)) throw lpError('ERR_LP_PROTOCOL', { detail: 'deadline must be a number' });
  if (m.thread !== undefined && !(Number.isSafeInteger(m.thread) && (m.thread as number) >= 0)) {
    throw lpError('ERR_LP_PROTOCOL', { detail: 'thread must be a thread id, an integer from 0' });
  }
  if (typeof m.type !== 'string') throw lpError('ERR_LP_PROTOCOL', { detail: 'type must be a string' });
  if (!Object.hasOwn(FIELDS, m.type)) throw lpError('ERR_LP_UNKNOWN_REQUEST', { detail: JSON.stringify(m.type) });
  const fields = FIELDS[m.type as RequestType] as Record<string, string>;
  for (const [name, spec] of Object.entries(fields)) {
    const optional = spec.endsWith('?');
    const want = optional ? spec.slice(0, -1) : spec;
    if (m[name] === undefined && optional) continue;
    if (typeof m[name] !== want || (want === 'number' && !Number.isFinite(m[name]))) {
      throw lpError('ERR_LP_PROTOCOL', { detail: `${m.type}.${name} must be a ${want}` });
    }
  }
  return m as unknown as Request & Envelope;
}
