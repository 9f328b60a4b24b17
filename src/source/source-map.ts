/**
 * Source maps (revision 3): the base64 VLQ `mappings` decoded, the magic
 * comment that names a module's map, and a map moved through the
 * loader's rewrite (`compose`), so that a frame of instrumented code maps
 * to the original source exactly where the input map maps the frame of the
 * code as written.
 *
 * Nothing here runs while a module loads unless Node applies source maps
 * (`--enable-source-maps`) and the module names a map; `livepatch symbols`
 * and a patch that names a function by its original location decode too.
 */
import { lineStarts } from './symbol-table.js';

/**
 * One mapping: [generatedColumn] for generated code with no original, or
 * [generatedColumn, source, originalLine, originalColumn] and optionally a
 * name index; every field absolute and 0-based.
 */
export type Segment = number[];

/** A revision 3 source map, as read from JSON; `sources` as written, before `sourceRoot`. */
export interface SourceMapV3 {
  version: 3;
  file?: string;
  sourceRoot?: string;
  sources: (string | null)[];
  sourcesContent?: (string | null)[];
  names?: string[];
  mappings: string;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/** A VLQ value read from `text` at `at`, and where it ends; `end` is -1 for a malformed value. */
const vlq = { value: 0, end: 0 };
function readValue(text: string, at: number): void {
  let value = 0;
  let shift = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const digit = c < 128 ? DIGIT[c] : -1;
    if (digit < 0) break;
    value += (digit & 31) * 2 ** shift;
    shift += 5;
    if (digit & 32) continue;
    vlq.value = value % 2 === 1 ? -(value - 1) / 2 : value / 2;
    vlq.end = i + 1;
    return;
  }
  vlq.end = -1;
}

/** The segments of each generated line. Returns null on a malformed string. */
export function decodeMappings(mappings: string): Segment[][] | null {
  const lines: Segment[][] = [[]];
  const state = [0, 0, 0, 0, 0];
  let segment: number[] = [];
  for (let i = 0; i <= mappings.length;) {
    const c = i < mappings.length ? mappings.charCodeAt(i) : 59;
    if (c === 44 /* , */ || c === 59 /* ; */) {
      if (segment.length > 0) {
        if (segment.length !== 1 && segment.length !== 4 && segment.length !== 5) return null;
        lines[lines.length - 1].push(segment.map((delta, field) => (state[field] += delta)));
        segment = [];
      }
      if (c === 59 && i < mappings.length) {
        lines.push([]);
        state[0] = 0;
      }
      i++;
      continue;
    }
    readValue(mappings, i);
    if (vlq.end < 0) return null;
    segment.push(vlq.value);
    i = vlq.end;
  }
  return lines;
}

function encodeValue(value: number): string {
  let rest = value < 0 ? -value * 2 + 1 : value * 2;
  let out = '';
  do {
    const digit = rest % 32;
    rest = Math.floor(rest / 32);
    out += BASE64[rest > 0 ? digit | 32 : digit];
  } while (rest > 0);
  return out;
}

/** Reads a map's JSON; null unless it is a revision 3 map with decodable mappings (index maps are not read). */
export function parseSourceMap(text: string): SourceMapV3 | null {
  let map: SourceMapV3;
  try {
    map = JSON.parse(text) as SourceMapV3;
  } catch {
    return null;
  }
  if (map === null || typeof map !== 'object' || map.version !== 3 || typeof map.mappings !== 'string' || !Array.isArray(map.sources)) return null;
  return map;
}

/**
 * The URL of a source's `//# sourceMappingURL=` comment as written (relative,
 * absolute or `data:`), or null. It is looked for on the source's last
 * line, where bundlers and compilers write it; reading that line alone
 * keeps the look-up cheap for a module that names no map.
 */
export function sourceMappingUrl(source: string): string | null {
  let end = source.length;
  while (end > 0 && (source[end - 1] === '\n' || source[end - 1] === '\r' || source[end - 1] === ' ' || source[end - 1] === '\t')) end--;
  const start = source.lastIndexOf('\n', end - 1) + 1;
  if (!source.startsWith('//', start)) return null;
  return /^\/\/[#@] ?sourceMappingURL=(\S+)$/.exec(source.slice(start, end))?.[1] ?? null;
}

/** The text of a `data:application/json` map URL, or null when it is another kind of data. */
export function dataUrlText(url: string): string | null {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) return null;
  const params = url.slice(5, comma).split(';');
  if (params[0] !== 'application/json') return null;
  const data = url.slice(comma + 1);
  if (params.at(-1) === 'base64') return Buffer.from(data, 'base64').toString('utf8');
  try {
    return decodeURIComponent(data);
  } catch {
    return null;
  }
}

/**
 * The map's sources as absolute URLs, `sourceRoot` prepended and resolved
 * against the URL the map was read from, as Node resolves them; a map moved
 * into a `data:` URL then still names the same files.
 */
export function absoluteSources(map: SourceMapV3, mapUrl: string): SourceMapV3 {
  const root = map.sourceRoot ?? '';
  const sources = map.sources.map((source) => {
    try {
      return new URL(root + (source ?? ''), mapUrl).href;
    } catch {
      return source;
    }
  });
  return { ...map, sourceRoot: '', sources };
}

/**
 * Moves `map`, whose generated code is `source`, onto the rewritten `code`:
 * each mapping keeps its original position and is placed where its
 * generated offset went (`moved`). The rewrite keeps every line and the
 * order of original text, so only generated columns change: the mappings
 * are rewritten in one pass, each segment's column re-encoded and its other
 * fields, relative to the segment before, copied as they are. A lookup of a
 * rewritten position then finds the mapping that the lookup of the position
 * as written finds. Returns null on malformed mappings.
 */
export function compose(map: SourceMapV3, source: string, code: string, moved: (offset: number) => number): SourceMapV3 | null {
  const from = lineStarts(source);
  const to = lineStarts(code);
  const text = map.mappings;
  const out: string[] = [];
  let line = 0;
  let column = 0;
  let previous = 0;
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c === 59 /* ; */ || c === 44 /* , */) {
      if (c === 59) {
        line++;
        column = 0;
        previous = 0;
      }
      out.push(text[i++]);
      continue;
    }
    readValue(text, i);
    if (vlq.end < 0) return null;
    column += vlq.value;
    let end = vlq.end;
    while (end < text.length && text.charCodeAt(end) !== 44 && text.charCodeAt(end) !== 59) end++;
    let target = column;
    if (line < from.length && line < to.length) {
      const offset = moved(from[line] + column) - to[line];
      // A column past its line's end (a map of other code) stays where it was.
      if (offset >= 0 && (line + 1 >= to.length || to[line] + offset < to[line + 1])) target = offset;
    }
    out.push(encodeValue(target - previous), text.slice(vlq.end, end));
    previous = target;
    i = end;
  }
  return { ...map, mappings: out.join('') };
}
