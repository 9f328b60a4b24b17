/**
 * How Node would run a file: as an ES module or as CommonJS, and the
 * application root its module id is relative to.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ModuleFormat } from '../runtime/abi.js';

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

/** The nearest directory at or above `entry`'s that has a package.json; the entry's own directory when none has. */
export function findRoot(entry: string | undefined): string {
  let dir = entry ? path.dirname(path.resolve(entry)) : process.cwd();
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return entry ? path.dirname(path.resolve(entry)) : process.cwd();
    dir = parent;
  }
}
