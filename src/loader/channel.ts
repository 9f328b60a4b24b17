/**
 * Messages between the main thread and the ESM loader thread, which
 * `module.register` hooks run on in Node 20. The loader sends each module's
 * symbol table before returning its source; the main thread reads them
 * synchronously when the module announces itself. The main thread sends the
 * verified source of a patch module before importing it, so the loader never
 * re-reads a file that was checked.
 */
import type { ModuleMeta } from '../runtime/abi.js';

export type LoaderMessage =
  | { type: 'meta'; key: string; meta: ModuleMeta }
  | { type: 'warn'; text: string };

export type MainMessage = { type: 'patch-source'; url: string; source: string };

/** Query parameter that marks a patch module URL; each load gets a fresh value, hence a fresh instance. */
export const PATCH_QUERY = 'livepatch-load';

/** Marks a module a patch module imports by a relative path (a multi-file patch); carries the load's value. */
export const PATCH_DEP_QUERY = 'livepatch-dep';
