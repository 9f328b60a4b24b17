/**
 * Where a bundle's functions were written, through the module's own source
 * map: for `livepatch symbols`, and for a func that names its original by
 * `original: { source, line }`, resolved to the bundle's symbol and sympos
 * when the patch is read. Maps are decoded only here, never while a module
 * loads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lpError, type ErrorContext } from '../errors.js';
import type { ModuleMeta } from '../runtime/abi.js';
import { modules } from '../runtime/modules.js';
import { formatOf } from '../source/format.js';
import { findOriginal, originalSymbols, type OriginalLocation, type OriginalQuery } from '../source/original.js';
import type { SourceOptions } from '../source/symbol-table.js';
import { activeConfig } from './hooks.js';
import { readModuleMap } from './source-maps.js';

/** The table of the file `file` with the original location of each symbol, or null when it names no map that can be read. */
export function fileOriginals(file: string, options: SourceOptions): { meta: ModuleMeta; originals: (OriginalLocation | null)[] } | null {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const read = readModuleMap(source, pathToFileURL(file).href);
  return read && originalSymbols(source, options, read.map);
}

/** The file of a loaded instance (`location` is a file URL or a path), or where the module's file is under the application root. */
function fileOfModule(id: string): { file: string; hash: string | null } | null {
  const instance = modules.loaded(id)[0];
  if (instance) return { file: instance.location.startsWith('file:') ? fileURLToPath(instance.location) : instance.location, hash: instance.meta.hash };
  const root = activeConfig()?.root ?? process.cwd();
  for (const file of [path.join(root, id), path.join(root, 'node_modules', id)]) if (fs.existsSync(file)) return { file, hash: null };
  return null;
}

/**
 * The symbol and sympos of the function of module `id` written at
 * `query`'s original file and line, through the module's source map: that
 * of the loaded instance, or of the file under the application root when
 * none is loaded. Refused with ERR_LP_SOURCE_NOT_FOUND or
 * ERR_LP_SOURCE_AMBIGUOUS.
 */
export function resolveOriginal(id: string, query: OriginalQuery, where: ErrorContext): { oldName: string; oldSympos: number } {
  const context = { ...where, symbol: `${query.source}:${query.line}` };
  const located = fileOfModule(id);
  if (located === null) throw lpError('ERR_LP_SOURCE_NOT_FOUND', { ...context, detail: 'the module is not loaded, and no file of that id is under the application root' });
  let source: string;
  try {
    source = fs.readFileSync(located.file, 'utf8');
  } catch (err) {
    throw lpError('ERR_LP_SOURCE_NOT_FOUND', { ...context, detail: `cannot read ${located.file}: ${(err as Error).message}` });
  }
  const read = readModuleMap(source, pathToFileURL(located.file).href);
  if (read === null) throw lpError('ERR_LP_SOURCE_NOT_FOUND', { ...context, detail: `${located.file} names no source map that can be read` });
  let table: ReturnType<typeof originalSymbols>;
  try {
    table = originalSymbols(source, { id, format: formatOf(located.file) }, read.map);
  } catch (err) {
    // The parser's own error: a file under the root that does not parse names no function.
    throw lpError('ERR_LP_SOURCE_NOT_FOUND', { ...context, detail: `cannot parse ${located.file}: ${(err as Error).message}` });
  }
  const { meta, originals } = table;
  if (located.hash !== null && located.hash !== meta.hash) {
    throw lpError('ERR_LP_SOURCE_NOT_FOUND', { ...context, detail: `${located.file} changed since the module loaded` });
  }
  const match = findOriginal(meta.symbols, originals, query);
  if ('refusal' in match) throw lpError(match.refusal === 'ambiguous' ? 'ERR_LP_SOURCE_AMBIGUOUS' : 'ERR_LP_SOURCE_NOT_FOUND', { ...context, detail: match.detail });
  return { oldName: match.found.name, oldSympos: match.found.sympos };
}
