/**
 * Patch callbacks (`klp_pre_patch_callback` … `klp_post_unpatch_callback`,
 * docs/callbacks.md). They run synchronously, per module instance, inside
 * the engine's steps: `core.ts` runs them when a patch is enabled or
 * disabled and when a module comes or goes, `transition.ts` when a
 * transition completes. A pre-patch callback refuses the patch (or the
 * loading module) by throwing or by returning `false` or a non-zero number;
 * the other callbacks cannot refuse anything, so what they throw is logged.
 *
 * Callbacks are synchronous, as the kernel's are: the snapshot refuses one
 * declared async, and a promise a plain callback returns is never awaited.
 * From pre-patch it refuses the patch; from the others it is logged; and
 * its rejection is logged either way, so that nothing an author's callback
 * does leaves an unhandled rejection to take the process down.
 */
import type { CallbackObject, Callbacks } from '../definition.js';
import { describeThrown, errnoName, lpError, type LivepatchError } from '../errors.js';
import { pr } from '../log.js';
import type { LoadedObject } from './records.js';

function callbackObject(loaded: LoadedObject): CallbackObject {
  const { instance } = loaded;
  return {
    patch: loaded.object.patch.name,
    module: instance.id,
    instance: instance.number,
    get state() {
      return instance.state === 'coming' ? 'COMING' : instance.state === 'live' ? 'LIVE' : 'GOING';
    },
    get scope() {
      return instance.scopeTable(0);
    },
  };
}

type CallbackName = keyof Callbacks;

/**
 * Whether a callback returned a promise (any thenable). Reading `then` runs
 * the author's getter: one that throws counts as a promise, which
 * `logRejection` then sees rejected.
 */
function isThenable(value: unknown): boolean {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return true;
  }
}

/** Follows a promise a callback returned: a rejection is logged, never left unhandled. */
function logRejection(promise: unknown, loaded: LoadedObject, name: CallbackName): void {
  const warn = (err: unknown) => {
    pr('warn', `'${loaded.object.patch.name}': the promise ${name} returned for object '${loaded.object.name}' was rejected: ${describeThrown(err)}`);
  };
  try {
    Promise.resolve(promise).then(undefined, warn);
  } catch (err) {
    // Promise.resolve reads a promise's constructor, which may be the author's getter.
    warn(err);
  }
}

/**
 * Runs pre-patch; returns the error when it refused. Sets
 * `postUnpatchEnabled` either way: post-unpatch is owed only for a
 * pre-patch that succeeded (`callPostUnpatch`).
 */
export function callPrePatch(loaded: LoadedObject): LivepatchError | null {
  const cb = loaded.object.callbacks.prePatch;
  let refused: LivepatchError | null = null;
  if (cb) {
    const context = { patch: loaded.object.patch.name, object: loaded.object.name };
    try {
      const ret = cb(callbackObject(loaded));
      if (isThenable(ret)) {
        logRejection(ret, loaded, 'prePatch');
        refused = lpError('ERR_LP_ASYNC_CALLBACK', { ...context, detail: 'callbacks.prePatch returned a promise' });
      } else if (ret === false || (typeof ret === 'number' && ret !== 0)) {
        // A negative errno propagates, as the kernel's pre_patch return does.
        const errno = typeof ret === 'number' ? errnoName(ret) : undefined;
        refused = lpError('ERR_LP_PRE_PATCH_FAILED', { ...context, detail: `returned ${ret}${errno ? ` (${errno})` : ''}` }, errno ? { errno } : undefined);
      }
    } catch (err) {
      refused = lpError('ERR_LP_PRE_PATCH_FAILED', { ...context, detail: describeThrown(err) }, { cause: err });
    }
  }
  loaded.postUnpatchEnabled = refused === null;
  return refused;
}

function runCallback(loaded: LoadedObject, name: Exclude<CallbackName, 'prePatch'>): void {
  const cb = loaded.object.callbacks[name];
  if (!cb) return;
  try {
    const ret: unknown = cb(callbackObject(loaded));
    if (isThenable(ret)) {
      pr('warn', `'${loaded.object.patch.name}': ${name} callback for object '${loaded.object.name}' returned a promise, which is not awaited: callbacks run synchronously`);
      logRejection(ret, loaded, name);
    }
  } catch (err) {
    pr('warn', `'${loaded.object.patch.name}': ${name} callback for object '${loaded.object.name}' threw: ${describeThrown(err)}`);
  }
}

export function callPostPatch(loaded: LoadedObject): void {
  runCallback(loaded, 'postPatch');
}

export function callPreUnpatch(loaded: LoadedObject): void {
  runCallback(loaded, 'preUnpatch');
}

/** Runs post-unpatch only when the matching pre-patch succeeded, at most once for it. */
export function callPostUnpatch(loaded: LoadedObject): void {
  if (loaded.postUnpatchEnabled) runCallback(loaded, 'postUnpatch');
  loaded.postUnpatchEnabled = false;
}
