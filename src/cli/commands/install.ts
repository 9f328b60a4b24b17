/**
 * `livepatch install <patch-file>`, `uninstall <name>` and `installed`: the
 * analogs of `kpatch install`/`uninstall` and the installed part of
 * `kpatch list`. Installed patches live in the application's install
 * directory (`src/install.ts`) and are loaded at every start of a process
 * under livepatch; installing does not touch running processes (`load`
 * does). The application root is `--root DIR`, else $LIVEPATCH_ROOT, else
 * the nearest directory with a package.json above the current one.
 */
import path from 'node:path';
import { lpError } from '../../errors.js';
import { readPatchName } from '../../install/check.js';
import { installedPatches, installPatch, uninstallPatch } from '../../install/dir.js';
import { installDirOf } from '../../loader/config.js';
import { findRoot } from '../../source/format.js';
import { table } from '../format.js';
import type { CommandContext } from '../context.js';

function rootOf(ctx: CommandContext): string {
  const root = (ctx.options.root as string | undefined) ?? ctx.env.LIVEPATCH_ROOT;
  return root ? path.resolve(root) : findRoot(undefined);
}

export async function install(ctx: CommandContext): Promise<number> {
  const [file] = ctx.rest;
  const root = rootOf(ctx);
  const name = await readPatchName(file, root, ctx.env);
  const installed = installPatch(path.resolve(file), name, installDirOf(root, ctx.env));
  if (ctx.json) ctx.out(JSON.stringify(installed, null, 2));
  else ctx.out(`installing patch '${name}' (${installed.file}${installed.signed ? ', signed' : ''})`);
  return 0;
}

export async function uninstall(ctx: CommandContext): Promise<number> {
  const [name] = ctx.rest;
  if (name.includes('/')) throw lpError('ERR_LP_USAGE', { detail: 'give the name of an installed patch, not a path (`livepatch installed` lists them)' });
  const removed = uninstallPatch(name, installDirOf(rootOf(ctx), ctx.env));
  if (ctx.json) ctx.out(JSON.stringify({ name, removed }, null, 2));
  else ctx.out(`uninstalling patch '${name}'`);
  return 0;
}

export async function installed(ctx: CommandContext): Promise<number> {
  const dir = installDirOf(rootOf(ctx), ctx.env);
  const patches = installedPatches(dir);
  if (ctx.json) ctx.out(JSON.stringify({ dir, patches }, null, 2));
  else {
    ctx.out(`Installed patches (${dir}):`);
    if (patches.length > 0) ctx.out(table(['NAME', 'SIGNED', 'FILE'], patches.map((p) => [p.name, p.signed ? 'yes' : 'no', p.file])));
  }
  return 0;
}
