/**
 * livepatch's `diagnostics_channel` channels (docs/diagnostics-channels.md):
 * what an APM agent or a logger subscribes to, to record which code version
 * served a request. Named as Node names its own: the tracing channels
 * `tracing:livepatch.load:*` and `tracing:livepatch.transition:*`, and the
 * plain channels `livepatch:<thing>.<event>`.
 *
 * Every message is built only when its channel has subscribers, so an
 * unobserved process pays one property read per event. A subscriber that
 * throws is reported by Node on its own (as an uncaught exception on the
 * next tick), never to the engine, whose operation has already happened.
 */
import diagnostics from 'node:diagnostics_channel';

/** `tracing:livepatch.load:*`: loading a patch module and enabling its patch, from `start` to `asyncEnd` (or `error`). */
export interface LoadMessage {
  /** The patch file, as given. */
  file: string;
  /** `loaded` by the host API or the control socket, `installed` and applied at start, or `watched`: a file of the patch directory (docs/fleet.md). */
  origin: 'loaded' | 'installed' | 'watched';
  /** Set by Node at `asyncEnd`: the name of the enabled patch. */
  result?: string;
  /** Set by Node at `error`: why it failed (a LivepatchError). */
  error?: unknown;
}

/**
 * `tracing:livepatch.transition:*`: one transition of one patch. `start`
 * and `end` bracket its start, when every task is marked pending;
 * `asyncStart` and `asyncEnd` bracket its completion, which may come many
 * event-loop turns later. A transition never publishes `error`: one that is
 * reversed ends with `outcome: 'reversed'`, and the reverse transition is a
 * new one, with its own `start`.
 */
export interface TransitionMessage {
  patch: string;
  /** The state the transition takes every task to. */
  target: 'patched' | 'unpatched';
  /** Set at `asyncStart`: how the transition ended. */
  outcome?: 'complete' | 'reversed';
  /** Set at `asyncStart`: some task was switched by force (`livepatch sys force`). */
  forced?: boolean;
  /** Set at `asyncStart`: milliseconds since its start. */
  durationMs?: number;
}

/** `livepatch:patch.enabled`: a patch's `enabled` attribute became true; its patching transition has started. */
export interface PatchEnabledMessage {
  patch: string;
  origin: 'loaded' | 'installed' | 'watched';
  /** An atomic replace patch, which replaces every patch before it once its transition completes. */
  replace: boolean;
}

/** `livepatch:patch.disabled`: a patch's `enabled` attribute became false; its unpatching transition has started. */
export interface PatchDisabledMessage {
  patch: string;
}

/** `livepatch:transition.complete`: every task runs the target state's code (`TransitionMessage` at `asyncStart`, as a plain message). */
export interface TransitionCompleteMessage {
  patch: string;
  target: 'patched' | 'unpatched';
  forced: boolean;
  durationMs: number;
}

/** `livepatch:patch.freed`: a patch left the patch list, unpatched or replaced; its name may be used again. */
export interface PatchFreedMessage {
  patch: string;
}

/** The name of every channel livepatch publishes on, for `diagnostics_channel.subscribe` / `tracingChannel`. */
export const CHANNELS = {
  load: 'livepatch.load',
  transition: 'livepatch.transition',
  patchEnabled: 'livepatch:patch.enabled',
  patchDisabled: 'livepatch:patch.disabled',
  transitionComplete: 'livepatch:transition.complete',
  patchFreed: 'livepatch:patch.freed',
} as const;

const load = diagnostics.tracingChannel<unknown, LoadMessage>(CHANNELS.load);
const transition = diagnostics.tracingChannel<unknown, TransitionMessage>(CHANNELS.transition);
const patchEnabled = diagnostics.channel(CHANNELS.patchEnabled);
const patchDisabled = diagnostics.channel(CHANNELS.patchDisabled);
const transitionComplete = diagnostics.channel(CHANNELS.transitionComplete);
const patchFreed = diagnostics.channel(CHANNELS.patchFreed);

/** Runs `fn`, the load of `file`, traced on `tracing:livepatch.load:*` when anyone listens. */
export function traceLoad(file: string, origin: LoadMessage['origin'], fn: () => Promise<string>): Promise<string> {
  if (!load.hasSubscribers) return fn();
  return load.tracePromise(fn, { file, origin });
}

/** The message of the transition in progress, while anyone listens to it. */
let running: TransitionMessage | null = null;

/** A transition of `patch` to `target` has started (`start`, `end`). */
export function publishTransitionStart(patch: string, target: TransitionMessage['target']): void {
  running = null;
  if (!transition.hasSubscribers) return;
  running = { patch, target };
  transition.start.publish(running);
  transition.end.publish(running);
}

/**
 * The transition of `patch` to `target` ends, by `outcome`: `complete`
 * (what the engine does to end it) runs between `asyncStart` and
 * `asyncEnd`, and `livepatch:transition.complete` follows it when the
 * transition completed.
 */
export function publishTransitionEnd(
  ended: { patch: string; target: TransitionMessage['target']; outcome: 'complete' | 'reversed'; forced: boolean; durationMs: number },
  complete: () => void,
): void {
  const message = running;
  running = null;
  if (message) transition.asyncStart.publish(Object.assign(message, { outcome: ended.outcome, forced: ended.forced, durationMs: ended.durationMs }));
  complete();
  if (ended.outcome === 'complete' && transitionComplete.hasSubscribers) {
    const { patch, target, forced, durationMs } = ended;
    transitionComplete.publish({ patch, target, forced, durationMs } satisfies TransitionCompleteMessage);
  }
  if (message) transition.asyncEnd.publish(message);
}

export function publishPatchEnabled(patch: string, origin: PatchEnabledMessage['origin'], replace: boolean): void {
  if (patchEnabled.hasSubscribers) patchEnabled.publish({ patch, origin, replace } satisfies PatchEnabledMessage);
}

export function publishPatchDisabled(patch: string): void {
  if (patchDisabled.hasSubscribers) patchDisabled.publish({ patch } satisfies PatchDisabledMessage);
}

export function publishPatchFreed(patch: string): void {
  if (patchFreed.hasSubscribers) patchFreed.publish({ patch } satisfies PatchFreedMessage);
}
