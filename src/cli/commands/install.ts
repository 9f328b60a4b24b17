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
import { installDirOf, loadConfig } from '../../loader/config.js';
import { findRoot } from '../../source/format.js';
import type { ProcessInfo } from '../../protocol.js';
import { table } from '../format.js';
import { describeProcesses } from '../processes.js';
import type { CommandContext } from '../context.js';

function rootOf(ctx: CommandContext): string {
  const root = (ctx.options.root as string | undefined) ?? ctx.env.LIVEPATCH_ROOT;
  return root ? path.resolve(root) : findRoot(undefined);
}

export async function install(ctx: CommandContext): Promise<number> {
  const [file] = ctx.rest;
  const root = rootOf(ctx);
  // The application's configuration, as its processes will read it: one they would refuse is refused here.
  const config = await loadConfig(undefined, { ...ctx.env, LIVEPATCH_ROOT: root });
  const name = await readPatchName(file, root, ctx.env);
  const installed = await installPatch(path.resolve(file), name, config.installDir);
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

/**
 * The installed patches, and how each fared in every process of the
 * application that runs under livepatch now (the processes whose install
 * directory this is): applied, or failed with the reason.
 */
export async function installed(ctx: CommandContext): Promise<number> {
  const dir = installDirOf(rootOf(ctx), ctx.env);
  const running = (await describeProcesses(ctx.runtimeDir)).filter((p): p is ProcessInfo => !('error' in p) && p.installDir === dir);
  const patches = installedPatches(dir).map((p) => ({
    ...p,
    processes: running.map((r) => ({ pid: r.pid, ...(r.installed.find((s) => s.name === p.name) ?? { state: 'not loaded' }) })),
  }));
  if (ctx.json) {
    ctx.out(JSON.stringify({ dir, patches }, null, 2));
    return 0;
  }
  ctx.out(`Installed patches (${dir}):`);
  if (patches.length === 0) return 0;
  const states = (p: (typeof patches)[number]) => p.processes.map((r) => `${r.state} in ${r.pid}`).join(', ') || '-';
  ctx.out(table(['NAME', 'SIGNED', 'STATE', 'FILE'], patches.map((p) => [p.name, p.signed ? 'yes' : 'no', states(p), p.file])));
  for (const p of patches) {
    for (const r of p.processes) {
      if ('error' in r && r.error) ctx.out(`${p.name} failed in ${r.pid}: ${r.error.message}\n  hint: ${r.error.hint}`);
    }
  }
  return 0;
}
