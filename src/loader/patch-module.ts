/**
 * Patch modules: the analog of `insmod` reading a `.ko`. A patch module is
 * an ESM or TypeScript file whose default export is the patch definition.
 * The main thread reads and verifies it, and the loader compiles exactly the
 * bytes that were verified (`esm-hooks.ts`); each load gets a fresh URL, so
 * loading a file again gives a new module instance with a fresh definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PatchDefinition } from '../definition.js';
import { lpError } from '../errors.js';
import { PATCH_QUERY } from './channel.js';
import { sendToLoader } from './loader-port.js';
import { verifyPatchFile } from './signature.js';

let loads = 0;

/**
 * Imports a patch module and returns its default export, unchecked: the
 * engine checks the definition when it is enabled. When the process trusts
 * a signing key, the file must carry a valid detached signature
 * (`<file>.sig`).
 */
export async function importPatchModule(file: string): Promise<PatchDefinition> {
  const abs = path.resolve(file);
  let source: string;
  try {
    source = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${abs}: ${(err as Error).message}` }, { cause: err });
  }
  verifyPatchFile(abs, source);
  const url = `${pathToFileURL(abs).href}?${PATCH_QUERY}=${++loads}`;
  if (!sendToLoader({ type: 'patch-source', url, source })) throw lpError('ERR_LP_NOT_LIVEPATCH');
  let namespace: { default?: PatchDefinition };
  try {
    namespace = await import(url);
  } catch (err) {
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${abs}: ${(err as Error).message}` }, { cause: err });
  }
  if (typeof namespace.default !== 'object' || namespace.default === null) {
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${abs}: its default export is not a patch definition` });
  }
  return namespace.default;
}
