/**
 * `livepatch symbols`: symbol tables, the `/proc/kallsyms` analog: module
 * id, then each symbol with its sympos, kind, line and content hash, and
 * why it cannot be patched where it cannot.
 *
 * - `symbols <file>`: a file's table, offline, computed as the loader would;
 *   when the file names a source map (a bundle), each symbol also shows
 *   where its function was written: original file, line and name;
 * - `symbols <module-id> -p PID`: a loaded module's live table, with the
 *   original locations too when the file it was loaded from names a map
 *   and still holds the code the process runs;
 * - `symbols -p PID`: the process's loaded modules, `/proc/modules`.
 *
 * `-p` is what selects the live forms: a module id such as `src/orders.js`
 * is also a path, and would mean a file to a reader.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { envValue } from '../../env.js';
import { lpError } from '../../errors.js';
import { fileOriginals } from '../../loader/originals.js';
import type { SymbolMeta } from '../../runtime/abi.js';
import { formatOf } from '../../source/format.js';
import type { OriginalLocation } from '../../source/original.js';
import { fileSymbols } from '../../source/symbol-table.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';
import { withTarget } from '../target.js';

/** `src/Lexer.ts:74 lex`: where a function was written, its name there last. */
function originalText(original: OriginalLocation | null): string {
  if (original === null) return '-';
  return `${original.source}:${original.line}${original.name ? ` ${original.name}` : ''}`;
}

function printSymbols(ctx: CommandContext, id: string, symbols: SymbolMeta[], originals: (OriginalLocation | null)[] | null = null): void {
  if (ctx.json) {
    const listed = originals ? symbols.map((s, i) => ({ ...s, original: originals[i] })) : symbols;
    ctx.out(JSON.stringify({ module: id, symbols: listed }, null, 2));
    return;
  }
  ctx.out(`module ${id}`);
  const columns = ['SYMBOL', 'SYMPOS', 'KIND', 'LINE', 'HASH', ...(originals ? ['ORIGINAL'] : []), ''];
  ctx.out(table(columns, symbols.map((s, i) => [
    s.name, String(s.sympos), s.kind, String(s.line), s.hash, ...(originals ? [originalText(originals[i])] : []),
    s.reason ? `not patchable: ${s.reason}` : '',
  ])));
}

/**
 * The original locations of a loaded module's symbols, from the file it was
 * loaded from (`location`, a file URL or a path); null unless that file
 * names a map and holds the code the process runs, symbol for symbol.
 */
function liveOriginals(location: string | undefined, id: string, symbols: SymbolMeta[]): (OriginalLocation | null)[] | null {
  if (location === undefined) return null;
  const file = location.startsWith('file:') ? fileURLToPath(location) : location;
  if (!path.isAbsolute(file)) return null;
  let found: ReturnType<typeof fileOriginals>;
  try {
    found = fileOriginals(file, { id, format: formatOf(file) });
  } catch {
    // A file that no longer parses holds other code than the process runs.
    return null;
  }
  if (found === null || found.meta.symbols.length !== symbols.length) return null;
  return found.meta.symbols.every((s, i) => s.hash === symbols[i].hash) ? found.originals : null;
}

export async function symbols(ctx: CommandContext): Promise<number> {
  const [target] = ctx.rest;
  if (target === undefined && ctx.options.pid === undefined) throw lpError('ERR_LP_USAGE', { detail: ctx.usage });
  if (ctx.options.pid === undefined) {
    const meta = fileSymbols(target, (ctx.options.root as string | undefined) ?? envValue(ctx.env, 'LIVEPATCH_ROOT'));
    printSymbols(ctx, meta.id, meta.symbols, fileOriginals(path.resolve(target), { id: meta.id, format: meta.format })?.originals ?? null);
    return 0;
  }
  return withTarget(ctx, async (client) => {
    if (target !== undefined) {
      const live = await client.request({ type: 'symbols', module: target });
      const { modules } = await client.request({ type: 'modules' });
      printSymbols(ctx, live.module, live.symbols, liveOriginals(modules.find((m) => m.id === live.module)?.location, live.module, live.symbols));
      return 0;
    }
    const { modules } = await client.request({ type: 'modules' });
    if (ctx.json) ctx.out(JSON.stringify({ modules }, null, 2));
    else {
      ctx.out(table(['MODULE', 'INSTANCE', 'STATE', 'SYMBOLS', 'LOCATION'], modules.map((m) => [
        m.id, String(m.instance), m.state, String(m.symbols), m.location,
      ])));
    }
    return 0;
  });
}
