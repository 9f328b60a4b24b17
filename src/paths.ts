/**
 * Where livepatch's own files are: the package root, its built code, its
 * entry points and the demo. The built code is bundled into chunks that sit
 * at different depths under dist/, so paths are taken from the package root
 * (the nearest directory above this code whose package.json is livepatch's),
 * never relative to the current file. Importing this module starts nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function packageRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'livepatch') return dir;
    } catch { /* no package.json here, or not ours */ }
    // The code always lives inside the package; the root is its own answer as a last resort.
    if (path.dirname(dir) === dir) return dir;
  }
}

export const PACKAGE_ROOT = packageRoot();

/** The built code; nothing under it is ever instrumented. */
export const DIST = path.join(PACKAGE_ROOT, 'dist');

/** `livepatch/register`: what `node --import` takes to run a program under livepatch. */
export const REGISTER = path.join(DIST, 'startup', 'register.js');

/** The public API, as a URL a generated ES module can import. */
export const INDEX_URL = pathToFileURL(path.join(DIST, 'index.js')).href;

/** The `livepatch` command. */
export const CLI = path.join(DIST, 'cli', 'index.js');

/** The demo's service and patches. */
export const DEMO = path.join(PACKAGE_ROOT, 'demo');
