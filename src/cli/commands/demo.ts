/**
 * `livepatch demo [--quick]`: runs the bundled shop service under load and
 * fixes it live (see src/demo/run.ts). Exits non-zero on any consistency
 * violation, failed request or lost state.
 */
import type { CommandContext } from '../context.js';
import { runDemo } from '../../demo/run.js';

export async function demo(ctx: CommandContext): Promise<number> {
  return runDemo({ quick: ctx.options.quick === true, out: ctx.out });
}
