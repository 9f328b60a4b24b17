/**
 * Where the functions of a bundle were written: each symbol of a module's
 * table with the original file, line and name its source map gives the
 * function's head, and a function found by that original location. This is
 * how `livepatch symbols` shows `src/Lexer.ts:74 lex` next to a minified
 * `l.prototype.lex`, and how a patch names a bundled function by
 * `original: { source, line }`.
 */
import type { ModuleMeta, SymbolMeta } from '../runtime/abi.js';
import type { Node } from './parse.js';
import { decodeMappings, type Segment, type SourceMapV3 } from './source-map.js';
import { analyze, lineOf, lineStarts, type SourceOptions } from './symbol-table.js';

/** Where a function was written, as its module's source map says. */
export interface OriginalLocation {
  /** The original file as the map names it, `sourceRoot` applied and leading `./` and `../` left out: `src/Lexer.ts`. */
  source: string;
  /** 1-based line. */
  line: number;
  /** The function's name in the original, when the map or the original text gives it. */
  name: string | null;
}

/** What a patch author writes to name a function by where it was written. */
export interface OriginalQuery {
  source: string;
  line: number;
}

/** A symbol found by its original location, or why none was. */
export type OriginalMatch =
  | { found: SymbolMeta }
  | { refusal: 'not-found' | 'ambiguous'; detail: string };

/** `./a/../b` as written in a map, with leading `./` and `../` segments left out. */
function displaySource(map: SourceMapV3, index: number): string {
  return `${map.sourceRoot ?? ''}${map.sources[index] ?? ''}`.replace(/^(\.\.?\/)+/, '');
}

const HEAD = /^(?:(?:export|default|async|static|get|set|function|public|private|protected|override|readonly)\b\s*|\*\s*)*([A-Za-z_$][\w$]*)/;

/** The identifier an original function's text begins with, keywords left out; null when it has none. */
function nameInText(map: SourceMapV3, segment: Segment): string | null {
  const text = map.sourcesContent?.[segment[1]];
  if (typeof text !== 'string') return null;
  const starts = lineStarts(text);
  if (segment[2] >= starts.length) return null;
  const match = HEAD.exec(text.slice(starts[segment[2]] + segment[3], starts[segment[2]] + segment[3] + 200));
  return match?.[1] ?? null;
}

/**
 * Where a function's definition begins: a method's FunctionExpression
 * begins at its parameters, and its key (`lex` of `lex(e){`) is where a
 * map places the method; a function or arrow bound to a name (`f=(a)=>…`,
 * `f:function(){…}`) begins at that name.
 */
function headOffset(source: string, fn: Node): number {
  if (fn.type === 'FunctionDeclaration' || (fn.type === 'FunctionExpression' && fn.id)) return fn.start;
  const before = source.slice(Math.max(0, fn.start - 256), fn.start);
  const key = fn.type === 'FunctionExpression' && source[fn.start] === '('
    ? /[A-Za-z_$][\w$]*\s*$/.exec(before)
    : /[A-Za-z_$][\w$]*\s*[=:]\s*$/.exec(before);
  return key ? fn.start - key[0].length : fn.start;
}

/** The last segment at or before (line, column), searching back through earlier lines. */
function segmentAt(lines: Segment[][], line: number, column: number): { line: number; index: number } | null {
  for (let l = Math.min(line, lines.length - 1); l >= 0; l--) {
    const segments = lines[l];
    let index = -1;
    for (let lo = 0, hi = segments.length - 1; lo <= hi;) {
      const mid = (lo + hi) >> 1;
      if (l < line || segments[mid][0] <= column) {
        index = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (index >= 0) return { line: l, index };
  }
  return null;
}

/**
 * The table of `source` and, for each symbol in its order, the original
 * location of the function's head: the mapping at or before the point
 * where the function begins; its name from a named mapping between there
 * and the body, else from the original text. null where the map has no
 * original for it.
 */
export function originalSymbols(source: string, options: SourceOptions, map: SourceMapV3): { meta: ModuleMeta; originals: (OriginalLocation | null)[] } {
  const { meta, scan } = analyze(source, options);
  const lines = decodeMappings(map.mappings) ?? [];
  const starts = lineStarts(source);
  const originals = scan.functions.map(({ fn }: { fn: Node }): OriginalLocation | null => {
    const head = headOffset(source, fn);
    const line = lineOf(starts, head) - 1;
    const at = segmentAt(lines, line, head - starts[line]);
    if (at === null || lines[at.line][at.index].length < 4) return null;
    const segment = lines[at.line][at.index];
    const from = starts[at.line] + segment[0];
    // The name stands before the parameters, whose own names the map may carry too.
    const to = head < fn.start ? fn.start : (fn.params[0]?.start ?? fn.body.start);
    let name: string | null = null;
    const lastLine = lineOf(starts, to) - 1;
    for (let l = at.line; l <= lastLine && name === null && l < lines.length; l++) {
      for (const named of lines[l]) {
        const offset = starts[l] + named[0];
        if (named.length === 5 && offset >= from && offset < to) {
          name = map.names?.[named[4]] ?? null;
          break;
        }
      }
    }
    return { source: displaySource(map, segment[1]), line: segment[2] + 1, name: name ?? nameInText(map, segment) };
  });
  return { meta, originals };
}

/** Whether `source` is `query` or ends with it at a path segment. */
function sameFile(source: string, query: string): boolean {
  const wanted = query.replace(/^(\.\.?\/)+/, '');
  return source === wanted || source.endsWith(`/${wanted}`);
}

/** The one symbol whose function was written at `query`'s file and line. */
export function findOriginal(symbols: SymbolMeta[], originals: (OriginalLocation | null)[], query: OriginalQuery): OriginalMatch {
  const files = [...new Set(originals.flatMap((o) => (o && sameFile(o.source, query.source) ? [o.source] : [])))];
  if (files.length === 0) return { refusal: 'not-found', detail: `no function of the module was written in a file '${query.source}'` };
  if (files.length > 1) return { refusal: 'ambiguous', detail: `'${query.source}' names ${files.map((f) => `'${f}'`).join(' and ')}; give more of the path` };
  const candidates = symbols.filter((_, i) => originals[i]?.source === files[0] && originals[i]?.line === query.line);
  if (candidates.length === 1) return { found: candidates[0] };
  if (candidates.length > 1) {
    return { refusal: 'ambiguous', detail: `${files[0]}:${query.line} begins ${candidates.map((s) => `${s.name},${s.sympos}`).join(', ')}; name one by oldName and oldSympos` };
  }
  const lines = [...new Set(originals.flatMap((o) => (o?.source === files[0] ? [o.line] : [])))].sort((a, b) => a - b);
  const near = lines.filter((l) => Math.abs(l - query.line) <= 20).slice(0, 8);
  return { refusal: 'not-found', detail: `no function of ${files[0]} begins at line ${query.line}${near.length ? ` (functions begin at lines ${near.join(', ')})` : ''}` };
}
