// Reading the repository's own source for the meta tests: every file under
// a directory, parsed with the TypeScript compiler's parser.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers.js';

/** Files under `dir` (relative to the repository) whose names match `pattern`, skipping `skip` directories. */
export function filesUnder(dir, pattern, skip = ['node_modules']) {
  const out = [];
  (function walk(d) {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (!skip.includes(entry.name)) walk(full);
      } else if (pattern.test(entry.name)) {
        out.push(full);
      }
    }
  })(path.join(ROOT, dir));
  return out.sort();
}

export function parse(file) {
  const kind = file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, kind);
}

/** Calls `fn` on every node of `node`'s subtree, parents first. */
export function walk(node, fn) {
  fn(node);
  ts.forEachChild(node, (child) => walk(child, fn));
}

export { ts };
