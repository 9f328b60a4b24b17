// What patch authors write is type-checked: every patch and example in the
// repository, and the type tests of the public API (test/types), under
// --strict and with only the TypeScript syntax Node can strip
// (tsconfig.patches.json), so that a change that breaks authors' code fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from '../helpers.js';

test('patches, examples and the public API type tests pass tsc --strict', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.patches.json')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc found errors:\n${result.stdout}${result.stderr}`);
});
