/**
 * A module's own source map, moved onto its instrumented code. When Node
 * applies source maps (`--enable-source-maps`, `module.setSourceMapsSupport`)
 * and a module names a map, the instrumented code ends with a comment
 * naming the composed map (a file in the transform cache, or inline): the module's map with each mapping placed where
 * the rewrite moved its generated position (`source/source-map.ts`). V8
 * takes the last `sourceMappingURL` comment of a source, so the original
 * comment stays in place and no original column moves. A frame then maps
 * to the same original line and column, and the same name, as without
 * livepatch.
 *
 * A map that cannot be read or decoded is left to Node as it is: the frames
 * Node maps through it are then those of the instrumented code, and Node's
 * own warning for an unreadable map is unchanged.
 */
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { movedOffset, type Moves } from '../source/edits.js';
import { absoluteSources, compose, dataUrlText, parseSourceMap, sourceMappingUrl, type SourceMapV3 } from '../source/source-map.js';

/** Whether Node applies source maps to the module at `filename`. */
function nodeAppliesMaps(filename: string): boolean {
  const support = module.getSourceMapsSupport?.();
  if (support) return support.enabled && (support.nodeModules || !filename.includes('/node_modules/'));
  return process.sourceMapsEnabled;
}

/** The text of the map a module names, with the URL its sources are relative to; null when there is none or it cannot be read. */
function readModuleMapText(source: string, moduleUrl: string): { text: string; url: string } | null {
  const url = sourceMappingUrl(source);
  if (url === null) return null;
  if (url.startsWith('data:')) {
    const text = dataUrlText(url);
    return text === null ? null : { text, url: moduleUrl };
  }
  let mapUrl: URL;
  try {
    mapUrl = new URL(url, moduleUrl);
  } catch {
    return null;
  }
  if (mapUrl.protocol !== 'file:') return null;
  try {
    return { text: fs.readFileSync(fileURLToPath(mapUrl), 'utf8'), url: mapUrl.href };
  } catch {
    return null;
  }
}

/** The map a module names, as written, with the URL its sources are relative to; null when there is none or it cannot be read. */
export function readModuleMap(source: string, moduleUrl: string): { map: SourceMapV3; url: string } | null {
  const read = readModuleMapText(source, moduleUrl);
  const map = read && parseSourceMap(read.text);
  return map && { map, url: read!.url };
}

/** Where composed maps are kept: the transform cache, or none. */
export interface MapStore {
  findMap(key: string): string | null;
  keepMap(key: string, json: string): string | null;
}

/**
 * `code`, the instrumented `source` of the module at `moduleUrl`, ending
 * with its composed map when Node reads maps: a file the transform cache
 * keeps, named by what the map is composed from (the module's instrumented
 * code, `metaKey`, its moves, and the map's URL and text), so that a warm
 * start composes nothing; else a `data:` URL. A file also keeps the map
 * out of the code V8 compiles and keeps.
 */
export function withComposedMap(code: string, instrumented: { moves: Moves; metaKey: string }, source: string, moduleUrl: string, filename: string, store: MapStore | null): string {
  if (!nodeAppliesMaps(filename)) return code;
  const read = readModuleMapText(source, moduleUrl);
  if (read === null) return code;
  const key = `${instrumented.metaKey}\0${instrumented.moves.join(',')}\0${read.url}\0${read.text}`;
  let file = store?.findMap(key) ?? null;
  let json: string | null = null;
  if (file === null) {
    const map = parseSourceMap(read.text);
    const composed = map && compose(absoluteSources(map, read.url), source, code, (offset) => movedOffset(instrumented.moves, offset));
    if (!composed) return code;
    json = JSON.stringify(composed);
    file = store?.keepMap(key, json) ?? null;
  }
  // Node reads a map file only by a URL relative to the module's: an absolute file: URL is not read.
  const url = file !== null
    ? path.relative(path.dirname(filename), file).split(path.sep).map(encodeURIComponent).join('/')
    : `data:application/json;base64,${Buffer.from(json!).toString('base64')}`;
  return `${code}\n//# sourceMappingURL=${url}\n`;
}
