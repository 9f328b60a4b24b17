/**
 * `node --import livepatch/register app.js`: makes the process (or the
 * worker thread) patchable.
 *
 * This file is kept small: it reads the configuration and turns on V8's
 * compile cache before it imports the rest of livepatch (`start.ts`), so
 * that livepatch's own code, like the application's, compiles from the
 * cache. Worker threads that livepatch itself starts (the type stripper)
 * carry a marker and are left alone.
 */
import { enableCompileCache } from 'node:module';
import path from 'node:path';
import { loadConfig } from '../loader/config.js';
import { INTERNAL_WORKER } from '../loader/typescript.js';

if (process.env[INTERNAL_WORKER] !== '1') {
  const config = loadConfig(process.argv[1]);
  if (config.compileCache && config.cacheDir) enableCompileCache(path.join(config.cacheDir, 'v8'));
  const { start } = await import('./start.js');
  await start(config);
}
