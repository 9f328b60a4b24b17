/**
 * How Node would run a file: as an ES module or as CommonJS, and the
 * application root its module id is relative to.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ModuleFormat } from '../runtime/abi.js';
import { rootAbove } from './module-id.js';

/** ESM or CommonJS, as Node would load the file. */
export function formatOf(file: string): ModuleFormat {
  if (file.endsWith('.mjs')) return 'esm';
  if (file.endsWith('.cjs')) return 'cjs';
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      return pkg.type === 'module' ? 'esm' : 'cjs';
    } catch { /* keep looking */ }
    if (path.dirname(dir) === dir) return 'cjs';
  }
}

/** The application root at or above `entry`'s directory (the working directory without one), as `module-id.ts` finds it; that directory itself when none is found. */
export function findRoot(entry: string | undefined): string {
  const dir = entry ? path.dirname(path.resolve(entry)) : process.cwd();
  return rootAbove(dir) ?? dir;
}
