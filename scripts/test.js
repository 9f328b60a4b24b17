#!/usr/bin/env node
// Runs the test suite: every `*.test.js` under test/, passed explicitly,
// because Node 20's `node --test <dir>` would also run every fixture file.
// Extra arguments filter the files by substring: `npm test -- consistency`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'fixtures' && entry.name !== 'node_modules') walk(full);
    } else if (entry.name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => full.includes(f)))) {
      files.push(path.relative(root, full));
    }
  }
})(path.join(root, 'test'));
files.sort();
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
