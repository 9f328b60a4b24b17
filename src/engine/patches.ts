/**
 * The patch list and the freeing of patches: what `kernel/livepatch/core.h`
 * exports to its sibling files (`klp_patches`, `klp_free_patch_async`,
 * `klp_free_replaced_patches_async`, `klp_unpatch_replaced_patches`,
 * `klp_discard_nops`). `core.ts` adds patches to the list; `transition.ts`
 * frees them when a transition completes.
 *
 * Like the rest of the engine, these run synchronously from the event loop
 * with an empty stack, or from a loading module's first statement.
 */
import { publishPatchFreed } from '../channels.js';
import { unpatchObjects, unpatchObjectsDynamic } from './patch.js';
import type { KlpPatch } from './records.js';

/** `klp_patches`: patches enabled or in transition, in enable order. */
const patches: KlpPatch[] = [];
/**
 * Freed patches that were forced: a task may still run their code, so, as
 * the kernel keeps a forced patch module loaded, they stay listed here.
 */
const pinned: KlpPatch[] = [];

/** Installed patches freed after they failed for a loading module: their failure stays on record. */
const failed: KlpPatch[] = [];

/**
 * The names of patches an atomic replace freed, each with the listed patch
 * that now carries its functions: what an unload of such a name reports.
 */
const replaced = new Map<string, string>();

export function listedPatches(): readonly KlpPatch[] {
  return patches;
}

export function pinnedPatches(): readonly KlpPatch[] {
  return pinned;
}

export function failedPatches(): readonly KlpPatch[] {
  return failed;
}

export function findPatch(name: string): KlpPatch | undefined {
  return patches.find((p) => p.name === name);
}

/** The listed patch that replaced the patch `name`, when an atomic replace freed it. */
export function replacedBy(name: string): string | undefined {
  return replaced.get(name);
}

/** Appends a patch that is being enabled; `forgetPatch` is its counterpart on failure. */
export function addPatch(patch: KlpPatch): void {
  patches.push(patch);
  replaced.delete(patch.name);
}

/** Unlinks a patch whose enable failed, or that was freed: it is gone from the list and the state tree. */
export function forgetPatch(patch: KlpPatch): void {
  const at = patches.indexOf(patch);
  if (at >= 0) patches.splice(at, 1);
  for (const object of patch.objects) object.loaded.clear();
}

/** Frees a patch after its disable completed (`klp_free_patch_async`). */
export function freePatch(patch: KlpPatch): void {
  forgetPatch(patch);
  publishPatchFreed(patch.name);
  if (patch.forced) pinned.push(patch);
  if (patch.failure) failed.push(patch);
  // The functions of the patches it had replaced run their original code again.
  for (const [name, by] of replaced) if (by === patch.name) replaced.delete(name);
}

/** Frees the patches a completed replace patch replaced (`klp_free_replaced_patches_async`). */
export function freeReplacedPatches(patch: KlpPatch): void {
  for (const old of patches.slice(0, patches.indexOf(patch))) {
    // What `old` had replaced is now carried by `patch`; freePatch then finds nothing pointing to `old`.
    for (const [name, by] of replaced) if (by === old.name) replaced.set(name, patch.name);
    replaced.set(old.name, patch.name);
    freePatch(old);
  }
}

/** Unpatches every patch listed before a completed replace patch (`klp_unpatch_replaced_patches`). */
export function unpatchReplacedPatches(patch: KlpPatch): void {
  for (const old of patches) {
    if (old === patch) return;
    old.enabled = false;
    unpatchObjects(old);
  }
}

/**
 * Removes a completed replace patch's nops (`klp_discard_nops`): each nop is
 * then alone on its stack, so the stack goes and the function runs its
 * original code at unpatched cost. Dynamic objects go with their nops.
 */
export function discardNops(patch: KlpPatch): void {
  unpatchObjectsDynamic(patch);
  for (let i = patch.objects.length - 1; i >= 0; i--) {
    const object = patch.objects[i];
    if (object.dynamic) {
      patch.objects.splice(i, 1);
      continue;
    }
    const funcs = object.funcs.filter((f) => !f.nop);
    object.funcs.splice(0, object.funcs.length, ...funcs);
    for (const loaded of object.loaded.values()) {
      const entries = loaded.entries.filter((e) => !e.func.nop);
      loaded.entries.splice(0, loaded.entries.length, ...entries);
    }
  }
}
