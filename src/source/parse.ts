/**
 * Parsing JavaScript for the symbol scan: ESTree with `start`/`end` offsets,
 * as Node would run the file (an ES module, or a CommonJS function body).
 */
import { createRequire } from 'node:module';
import type * as Meriyah from 'meriyah';
import type { ModuleFormat } from '../runtime/abi.js';

/** The ESTree subset we read; meriyah nodes carry `start`/`end` offsets. */
export interface Node {
  type: string;
  start: number;
  end: number;
  // ESTree fields are read structurally; the scanner checks `type` first.
  [field: string]: any;
}

/*
 * The parser is ~300 KB of code to compile, and a process whose modules all
 * come from the transform cache never parses, so it is loaded on the first
 * parse. Its CommonJS build loads synchronously, as the CommonJS hook needs.
 */
let meriyah: typeof Meriyah | null = null;

/** A token of the source: its kind (`Identifier`, `Punctuator`, …) and its offsets. Comments and whitespace are not tokens. */
export interface Token {
  type: string;
  start: number;
  end: number;
}

/** Parses `source` as Node would run it; when `tokens` is given, appends every token to it in source order. */
export function parseSource(source: string, format: ModuleFormat, tokens?: Token[]): Node {
  const esm = format === 'esm';
  meriyah ??= createRequire(import.meta.url)('meriyah') as typeof Meriyah;
  return meriyah.parse(source, {
    module: esm,
    next: true,
    // CommonJS runs as a sloppy function body: top-level return, Annex B.
    globalReturn: !esm,
    webcompat: !esm,
    ranges: { start: true, end: true, range: false },
    validateRegex: false,
    ...(tokens ? { onToken: (type: string, start: number, end: number) => void tokens.push({ type, start, end }) } : {}),
  }) as unknown as Node;
}
