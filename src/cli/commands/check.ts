/**
 * `livepatch check <patch-file>`: a dry run of a load. The process imports
 * the patch module and resolves every func in every loaded instance of its
 * modules (symbols, hashes, scopes, kinds) without enabling anything, and
 * the command prints what would resolve and every refusal a load would
 * meet. It exits 0 when the load would succeed, 1 when it would be refused.
 */
import path from 'node:path';
import { lpError } from '../../errors.js';
import type { PatchCheckInfo } from '../../protocol.js';
import type { CommandContext } from '../context.js';
import { exitCodeOf } from '../exit.js';
import { table } from '../format.js';
import { withTarget } from '../target.js';

function report(ctx: CommandContext, check: PatchCheckInfo): void {
  ctx.out(`patch '${check.name}'${check.replace ? `, replace: replaces ${check.replaces.join(', ') || 'no patch'}` : ''}`);
  for (const error of check.errors) ctx.out(`  refused: ${error.code}: ${error.message}`);
  for (const object of check.objects) {
    ctx.out(object.instances > 0 ? `${object.module}: ${object.instances} instance${object.instances === 1 ? '' : 's'}` : `${object.module}: not loaded; the patch applies when it loads`);
    if (object.instances === 0) continue;
    ctx.out(table(['  FUNCTION', 'HASH', 'RESULT'], object.funcs.map((f) => [
      `  ${f.name},${f.sympos}`,
      [...new Set(f.hashes)].join(',') || '-',
      f.errors.length === 0 ? 'ok' : f.errors.map((e) => `${e.code}: ${e.message}`).join('; '),
    ])));
  }
}

export async function check(ctx: CommandContext): Promise<number> {
  const file = path.resolve(ctx.rest[0]);
  return withTarget(ctx, async (client) => {
    const result = await client.request({ type: 'check', file });
    const refusals = [...result.errors, ...result.objects.flatMap((o) => o.funcs.flatMap((f) => f.errors))];
    const refused = refusals.length === 0 ? null
      : lpError('ERR_LP_CHECK_REFUSED', { patch: result.name, detail: `${refusals.length} refusal${refusals.length === 1 ? '' : 's'}, the first: ${refusals[0].code}` });
    if (ctx.json) {
      // One document: the check, and the error when it would be refused.
      ctx.out(JSON.stringify(refused ? { ...result, error: refused.toJSON() } : result, null, 2));
      return refused ? exitCodeOf(refused) : 0;
    }
    report(ctx, result);
    // ERR_LP_CHECK_REFUSED, made above.
    if (refused) throw refused;
    return 0;
  });
}
