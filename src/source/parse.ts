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

export function parseSource(source: string, format: ModuleFormat): Node {
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
  }) as unknown as Node;
}
