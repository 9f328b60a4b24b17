// Package-level promises: the version in the transform cache key is the
// package's, and the README's two set-up commands exist.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { VERSION } from 'livepatch/internal';
import { ROOT } from './helpers.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('src/version.ts matches package.json', () => {
  assert.equal(VERSION, pkg.version);
});

test('the README opens with the demo and test commands, and they are npm scripts', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)[1];
  assert.match(block, /^npm ci && npm run demo/m);
  assert.match(block, /^npm ci && npm test/m);
  assert.ok(pkg.scripts.demo && pkg.scripts.test);
  assert.match(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'), /npm ci[^\n]*\nnpm test/);
});
