/**
 * System states: the analog of `kernel/livepatch/state.c`
 * (docs/system-state.md).
 *
 * A patch declares the system states it introduces or keeps as
 * `{ id, version }`. A new patch is refused if it would downgrade a state of
 * a listed patch, or, being a replace patch, drop one: the patches it
 * replaces get no callbacks, so it must take over whatever they changed.
 */
import type { PatchDefinition, StateDefinition } from '../definition.js';
import { warnOnce } from '../log.js';
import type { KlpPatch } from './records.js';
import { findPatch, listedPatches } from './patches.js';
import { getTransitionPatch } from './transition.js';

/** `klp_is_patch_compatible`. */
export function isPatchCompatible(def: PatchDefinition, patches: readonly KlpPatch[]): boolean {
  for (const old of patches) {
    for (const state of old.states) {
      const mine = def.states?.find((s) => s.id === state.id);
      if (!mine) {
        if (def.replace) return false;
        continue;
      }
      if (mine.version < state.version) return false;
    }
  }
  return true;
}

/**
 * The state `id` of a listed patch (`klp_get_state`), for callbacks and
 * patched code; undefined when the patch does not declare it.
 */
export function getState(patch: string, id: number): StateDefinition | undefined {
  return findPatch(patch)?.states.find((s) => s.id === id);
}

/**
 * The state `id` as the patches being replaced left it: the most recently
 * enabled listed patch before the transition patch that declares it
 * (`klp_get_prev_state`). Valid only during a transition, that is, in
 * pre-patch and post-unpatch callbacks of the patch in transition.
 */
export function getPrevState(id: number): StateDefinition | undefined {
  const transition = getTransitionPatch();
  if (transition === null) {
    warnOnce('prev-state', 'getPrevState() called outside a transition');
    return undefined;
  }
  let found: StateDefinition | undefined;
  for (const patch of listedPatches()) {
    if (patch === transition) break;
    found = patch.states.find((s) => s.id === id) ?? found;
  }
  return found;
}
