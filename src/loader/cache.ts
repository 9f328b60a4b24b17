/**
 * The transform cache: instrumented output and its symbol table on disk,
 * keyed by the source's content hash, the module id and format, the ABI
 * version and the tool version. A warm start reads one file per module
 * instead of parsing it.
 *
 * An entry is one file: the metadata as JSON on the first line, then the
 * code. Entries are written to a temporary name and renamed, so concurrent
 * processes never read a half-written entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { ModuleMeta } from '../runtime/abi.js';
import { VERSION } from '../version.js';
import type { SourceOptions } from '../source/symbol-table.js';
import { instrument, metaKeyOf, type InstrumentResult } from './instrument.js';

export class TransformCache {
  private readonly dir: string | null;
  private failed = false;

  constructor(dir: string | null) {
    this.dir = dir;
  }

  /** Instruments `source`, or returns the cached result. Throws when the source cannot be parsed. */
  instrument(source: string, options: SourceOptions): InstrumentResult {
    const metaKey = metaKeyOf(source, options);
    const file = this.dir && !this.failed ? path.join(this.dir, `${this.entryKey(metaKey)}.lp`) : null;
    if (file) {
      try {
        const text = fs.readFileSync(file, 'utf8');
        const newline = text.indexOf('\n');
        const meta = JSON.parse(text.slice(0, newline)) as ModuleMeta;
        return { code: text.slice(newline + 1), meta, metaKey };
      } catch { /* a miss */ }
    }
    const result = instrument(source, options);
    if (file) this.write(file, `${JSON.stringify(result.meta)}\n${result.code}`);
    return result;
  }

  private entryKey(metaKey: string): string {
    return createHash('sha256').update(`${VERSION}\0${metaKey}`).digest('hex').slice(0, 40);
  }

  private write(file: string, text: string): void {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
    } catch {
      // An unwritable cache only costs speed; stop trying for this process.
      this.failed = true;
    }
  }
}
