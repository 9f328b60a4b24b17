/**
 * `node --import livepatch/register app.js`: makes the process (or the
 * worker thread) patchable.
 *
 * This file is kept small: it reads the configuration and turns on V8's
 * compile cache before it imports the rest of livepatch (`start.ts`), so
 * that livepatch's own code, like the application's, compiles from the
 * cache. Worker threads that livepatch itself starts (the type stripper)
 * carry a marker and are left alone.
 *
 * A configuration that cannot be honoured (a misspelt value, a trusted key
 * that cannot be read) never stops the program, and is never replaced by a
 * guess, which could be a weaker policy: the program runs without
 * livepatch, so nothing can patch it, and says so once, at start.
 */
import { enableCompileCache } from 'node:module';
import path from 'node:path';
import { describeBug, isLivepatchError } from '../errors.js';
import { loadConfig, type LoaderConfig } from '../loader/config.js';
import { INTERNAL_WORKER } from '../loader/typescript.js';

/**
 * The program's entry point. A worker that pm2 starts runs pm2's container
 * script as its entry, and receives the application's settings (the `env`
 * of its ecosystem file) in the JSON of `pm2_env`, which the container puts
 * into `process.env` only after `--import` ran: the script is read from
 * there, and the LIVEPATCH_ settings are put into `process.env` now, as
 * the container would.
 */
function entryPoint(): string | undefined {
  const handed = process.env.pm2_env;
  if (handed === undefined) return process.argv[1];
  let pm2: { pm_exec_path?: unknown; env?: Record<string, unknown> } | null;
  try {
    pm2 = JSON.parse(handed);
  } catch {
    return process.argv[1];
  }
  for (const [key, value] of Object.entries(pm2?.env ?? {})) {
    if (key.startsWith('LIVEPATCH_') && typeof value === 'string' && process.env[key] === undefined) process.env[key] = value;
  }
  return typeof pm2?.pm_exec_path === 'string' ? pm2.pm_exec_path : process.argv[1];
}

async function configuration(): Promise<LoaderConfig | null> {
  try {
    return await loadConfig(entryPoint());
  } catch (err) {
    if (process.getBuiltinModule('node:worker_threads').isMainThread) {
      const [message, hint] = isLivepatchError(err) ? [err.message, err.hint] : [`internal error, this is a bug: ${describeBug(err)}`, 'report it'];
      process.stderr.write(`livepatch: ${message}; the program runs without livepatch\n  hint: ${hint}\n`);
    }
    return null;
  }
}

if (process.env[INTERNAL_WORKER] !== '1') {
  const config = await configuration();
  if (config) {
    if (config.compileCache && config.cacheDir) enableCompileCache(path.join(config.cacheDir, 'v8'));
    const { start } = await import('./start.js');
    await start(config);
  }
}
