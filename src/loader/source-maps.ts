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

/** The map a module names, as written, with the URL its sources are relative to; null when there is none or it cannot be read. */
export function readModuleMap(source: string, moduleUrl: string): { map: SourceMapV3; url: string } | null {
  const url = sourceMappingUrl(source);
  if (url === null) return null;
  if (url.startsWith('data:')) {
    const text = dataUrlText(url);
    const map = text === null ? null : parseSourceMap(text);
    return map && { map, url: moduleUrl };
  }
  let mapUrl: URL;
  try {
    mapUrl = new URL(url, moduleUrl);
  } catch {
    return null;
  }
  if (mapUrl.protocol !== 'file:') return null;
  let text: string;
  try {
    text = fs.readFileSync(fileURLToPath(mapUrl), 'utf8');
  } catch {
    return null;
  }
  const map = parseSourceMap(text);
  return map && { map, url: mapUrl.href };
}

/**
 * `code`, the instrumented `source` of the module at `moduleUrl`, ending
 * with its composed map when Node reads maps: a file that `store` keeps (in
 * the transform cache), else a `data:` URL. A file keeps the map out of the
 * code Node compiles, scans and measures line by line, which costs more
 * than the map itself.
 */
export function withComposedMap(code: string, moves: Moves, source: string, moduleUrl: string, filename: string, store: (json: string) => string | null): string {
  if (!nodeAppliesMaps(filename)) return code;
  const read = readModuleMap(source, moduleUrl);
  const composed = read && compose(absoluteSources(read.map, read.url), source, code, (offset) => movedOffset(moves, offset));
  if (!composed) return code;
  const json = JSON.stringify(composed);
  const file = store(json);
  // Node reads a map file only by a URL relative to the module's: an absolute file: URL is not read.
  const url = file
    ? path.relative(path.dirname(filename), file).split(path.sep).map(encodeURIComponent).join('/')
    : `data:application/json;base64,${Buffer.from(json).toString('base64')}`;
  return `${code}\n//# sourceMappingURL=${url}\n`;
}
