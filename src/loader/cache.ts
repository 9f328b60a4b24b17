/**
 * The transform cache: instrumented output and its symbol table on disk, so
 * that a warm start reads one file per module instead of parsing it.
 *
 * An entry is named by a hash of everything its output depends on (the
 * source, the module id and format, the ABI and the tool version), and it
 * carries what verifies it: the same facts, the hash of the source it was
 * built from and the hash of its output. Anything that does not verify (a
 * flipped bit, an entry cut short, an entry copied under another name, one
 * written by another version) is a miss: the module is instrumented again,
 * the entry rewritten, and one warning says so. A cache can cost speed,
 * never correctness.
 *
 * An entry is one file: a JSON header line, then the code. It is written to
 * a temporary name and renamed, so no reader sees half an entry, and a write
 * that fails (a full disk) removes its temporary file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pr, warnOnce } from '../log.js';
import { ABI_VERSION, type ModuleMeta } from '../runtime/abi.js';
import { sha256 } from '../source/hash.js';
import { sourceMappingUrl } from '../source/source-map.js';
import type { SourceOptions } from '../source/symbol-table.js';
import { VERSION } from '../version.js';
import { instrument, type InstrumentResult } from './instrument.js';

/** The entry layout; bumped when the header or the file format changes. */
const FORMAT = 2;

export interface CacheOptions extends SourceOptions {
  /** What turns the source into the JavaScript that is instrumented (type stripping), or null. */
  transform: ((source: string) => string) | null;
}

interface Header {
  format: number;
  tool: string;
  abi: number;
  id: string;
  moduleFormat: string;
  transformed: boolean;
  sourceHash: string;
  codeHash: string;
  metaKey: string;
  meta: ModuleMeta;
  moves: number[];
}

/** The first field of a kept source map: the hash that verifies it. */
const MAP_SEAL = '{"x_livepatch":"';

/** What verifies an entry's output: the code and where its original offsets went. */
function outputHash(code: string, moves: number[]): string {
  return sha256(`${moves.join(',')}\n${code}`);
}

export class TransformCache {
  readonly #dir: string | null;
  #writable = true;

  constructor(dir: string | null) {
    this.#dir = dir;
  }

  /** Instruments `source`, or returns the verified cached result. Throws when the source cannot be parsed. */
  instrument(source: string, options: CacheOptions): InstrumentResult {
    const sourceHash = sha256(source);
    const expected = { format: FORMAT, tool: VERSION, abi: ABI_VERSION, id: options.id, moduleFormat: options.format, transformed: options.transform !== null, sourceHash };
    const file = this.#dir ? path.join(this.#dir, `${sha256(JSON.stringify(expected), 40)}.lp`) : null;
    if (file) {
      const hit = this.#read(file, expected);
      if (hit) return hit;
    }
    const js = options.transform ? options.transform(source) : source;
    const result = instrument(js, options);
    if (file && this.#writable) {
      // Moves serve only a module that names a source map (`source-maps.ts`).
      const moves = sourceMappingUrl(js) === null ? [] : result.moves;
      const header: Header = { ...expected, codeHash: outputHash(result.code, moves), metaKey: result.metaKey, meta: result.meta, moves };
      this.#write(file, `${JSON.stringify(header)}\n${result.code}`);
    }
    return result;
  }

  /**
   * The file of the source map composed from `key` (what it was composed
   * from, `source-maps.ts`), when the cache holds it and it verifies: its
   * first field is the hash of the key and of the rest of the map, which
   * Node ignores. Null otherwise.
   */
  findMap(key: string): string | null {
    if (!this.#dir) return null;
    const file = path.join(this.#dir, 'maps', `${sha256(key, 40)}.map`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return null;
    }
    const rest = text.slice(MAP_SEAL.length + 66);
    return text.startsWith(MAP_SEAL) && text.slice(MAP_SEAL.length, MAP_SEAL.length + 64) === sha256(`${key}\0${rest}`) ? file : null;
  }

  /** Keeps the composed map `json` (an object's JSON) under `key`; its file, or null without a writable cache. */
  keepMap(key: string, json: string): string | null {
    if (!this.#dir || !this.#writable) return null;
    const file = path.join(this.#dir, 'maps', `${sha256(key, 40)}.map`);
    const rest = json.slice(1);
    this.#write(file, `${MAP_SEAL}${sha256(`${key}\0${rest}`)}",${rest}`);
    return this.#writable ? file : null;
  }

  /** The entry, when it exists and verifies; a miss otherwise (and a warning when it existed). */
  #read(file: string, expected: Omit<Header, 'codeHash' | 'metaKey' | 'meta' | 'moves'>): InstrumentResult | null {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return null;
    }
    const newline = text.indexOf('\n');
    let header: Header | null = null;
    try {
      header = JSON.parse(text.slice(0, newline)) as Header;
    } catch { /* a damaged header: not verified */ }
    const code = text.slice(newline + 1);
    const verified = newline > 0 && header !== null && Array.isArray(header.moves) && header.codeHash === outputHash(code, header.moves) &&
      (Object.keys(expected) as (keyof typeof expected)[]).every((key) => header[key] === expected[key]) &&
      typeof header.metaKey === 'string' && header.meta?.id === expected.id;
    if (verified) return { code, meta: header!.meta, metaKey: header!.metaKey, moves: header!.moves };
    warnOnce(`cache:${file}`, `transform cache entry ${file} for '${expected.id}' does not verify; it is rebuilt`);
    return null;
  }

  #write(file: string, text: string): void {
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(tmp, text, { mode: 0o644 });
      fs.renameSync(tmp, file);
    } catch (err) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch { /* nothing was created where the directory itself is unusable */ }
      // An unwritable cache only costs speed; stop trying for this process.
      this.#writable = false;
      pr('warn', `transform cache ${this.#dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); modules are instrumented at every start`);
    }
  }
}
