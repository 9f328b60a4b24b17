/**
 * Patch modules: the analog of `insmod` reading a `.ko`. A patch module is
 * an ESM or TypeScript file whose default export is the patch definition.
 * It is read and verified here, its types are stripped off the event loop's
 * thread, and the loader hooks then compile exactly those bytes
 * (`hooks.ts`). Each load gets a fresh URL, so loading a file again gives a
 * new module instance with a fresh definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PatchDefinition } from '../definition.js';
import { isLivepatchError, lpError } from '../errors.js';
import { activeConfig, PATCH_DEP_QUERY, PATCH_QUERY, servePatchSource, withdrawPatchSource } from './hooks.js';
import { verifySignature } from './signature.js';
import { isTypeScript, stripOffThread } from './typescript.js';

let loads = 0;

/**
 * Imports a patch module and returns its default export, unchecked: the
 * engine checks the definition when it is enabled. When the process trusts
 * a signing key, the file (and every file it imports) must carry a valid
 * detached signature (`<file>.sig`).
 */
export async function importPatchModule(file: string): Promise<PatchDefinition> {
  const config = activeConfig();
  if (!config) throw lpError('ERR_LP_NOT_LIVEPATCH');
  const abs = path.resolve(file);
  const load = String(++loads);
  const url = `${pathToFileURL(abs).href}?${PATCH_QUERY}=${load}`;
  const served: string[] = [];
  let namespace: { default?: PatchDefinition };
  try {
    await prepare(abs, url, load, config.trustedKey, served);
    namespace = await import(url);
  } catch (err) {
    // A signature or stripping refusal of a file the patch brings in keeps its own code.
    if (isLivepatchError(err)) throw err;
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${abs}: ${(err as Error)?.message ?? err}` }, { cause: err });
  } finally {
    // A prepared file the patch did not import is not kept.
    for (const source of served) withdrawPatchSource(source);
  }
  if (typeof namespace.default !== 'object' || namespace.default === null) {
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${abs}: its default export is not a patch definition` });
  }
  return namespace.default;
}

/** Static relative imports of a stripped patch module: the files it brings in, to prepare ahead. */
const RELATIVE_IMPORT = /^\s*(?:import|export)\b[^'"`;]*?['"](\.{1,2}\/[^'"]+)['"]/gm;

/**
 * Reads, verifies and strips a patch module and, ahead of the import, the
 * files it imports by a relative path, so that nothing of it is read or
 * stripped on the event loop's thread when it loads. A file this misses (an
 * import the pattern does not see) is still read and verified by the hooks.
 */
async function prepare(file: string, url: string, load: string, trustedKey: string | null, served: string[]): Promise<void> {
  if (served.includes(url)) return;
  let source: string;
  try {
    source = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    // A missing import surfaces from the import itself, with its specifier.
    if (served.length > 0) return;
    throw lpError('ERR_LP_PATCH_LOAD', { detail: `${file}: ${(err as Error).message}` }, { cause: err });
  }
  verifySignature(file, source, trustedKey);
  const code = isTypeScript(file) ? await stripOffThread(source, file) : source;
  servePatchSource(url, code);
  served.push(url);
  for (const [, specifier] of code.matchAll(RELATIVE_IMPORT)) {
    const dep = new URL(specifier, url);
    dep.search = `?${PATCH_DEP_QUERY}=${load}`;
    await prepare(path.resolve(path.dirname(file), specifier), dep.href, load, trustedKey, served);
  }
}
