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
});

test('CI installs with npm ci, then runs the README\'s test command on Node 22, 24 and 26, the versions engines allows', () => {
  const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
  assert.match(ci, /NODE_MAJORS="\$\{NODE_MAJORS:-22 24 26\}"/);
  assert.match(ci, /npm ci --no-audit --no-fund\nfor major in \$NODE_MAJORS; do\n[^\n]*\n {2}PATH="\$bins\/\$major\/bin:\$PATH" npm test\ndone/);
  assert.equal(pkg.engines.node, '>=22.15');
});
