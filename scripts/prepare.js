#!/usr/bin/env node
// npm's prepare step: builds dist/. npm runs it in a git clone after
// installing the dev dependencies, but in a checkout installed by path
// (`npm install ../livepatch`, a link) without them; there it installs
// them first, into the checkout, so that the build has its compilers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const has = (pkg) => fs.existsSync(path.join(root, 'node_modules', pkg, 'package.json'));
const run = (args) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

if (!has('typescript') || !has('esbuild')) {
  const npm = process.env.npm_execpath;
  if (!npm) {
    console.error('livepatch: building needs the dev dependencies: run `npm install` in this checkout first');
    process.exit(1);
  }
  run([npm, 'install', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save']);
}
run([path.join(root, 'scripts', 'build.js')]);
