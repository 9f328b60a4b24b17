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

async function configuration(): Promise<LoaderConfig | null> {
  try {
    return await loadConfig(process.argv[1]);
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
