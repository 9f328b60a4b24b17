/**
 * `livepatch symbols`: symbol tables, the `/proc/kallsyms` analog: module
 * id, then each symbol with its sympos, kind, line and content hash, and
 * why it cannot be patched where it cannot.
 *
 * - `symbols <file>`: a file's table, offline, computed as the loader would;
 * - `symbols <module-id> -p PID`: a loaded module's live table;
 * - `symbols -p PID`: the process's loaded modules, `/proc/modules`.
 *
 * `-p` is what selects the live forms: a module id such as `src/orders.js`
 * is also a path, and would mean a file to a reader.
 */
import { lpError } from '../../errors.js';
import type { SymbolMeta } from '../../runtime/abi.js';
import { fileSymbols } from '../../source/symbol-table.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';
import { withTarget } from '../target.js';

function printSymbols(ctx: CommandContext, id: string, symbols: SymbolMeta[]): void {
  if (ctx.json) {
    ctx.out(JSON.stringify({ module: id, symbols }, null, 2));
    return;
  }
  ctx.out(`module ${id}`);
  ctx.out(table(['SYMBOL', 'SYMPOS', 'KIND', 'LINE', 'HASH', ''], symbols.map((s) => [
    s.name, String(s.sympos), s.kind, String(s.line), s.hash, s.reason ? `not patchable: ${s.reason}` : '',
  ])));
}

export async function symbols(ctx: CommandContext): Promise<number> {
  const [target] = ctx.rest;
  if (target === undefined && ctx.options.pid === undefined) throw lpError('ERR_LP_USAGE', { detail: ctx.usage });
  if (ctx.options.pid === undefined) {
    const meta = fileSymbols(target, ctx.options.root as string | undefined);
    printSymbols(ctx, meta.id, meta.symbols);
    return 0;
  }
  return withTarget(ctx, async (client) => {
    if (target !== undefined) {
      const live = await client.request({ type: 'symbols', module: target });
      printSymbols(ctx, live.module, live.symbols);
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
