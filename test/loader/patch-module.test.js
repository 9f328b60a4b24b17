// Patch modules are run by livepatch, not by Node's ESM loader: every form
// of import and export a patch may use gives what it gives in an ES module.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, runOk } from '../helpers.js';

describe('a patch module of several files, loaded twice', () => {
  let first;
  let second;
  before(async () => {
    [first, second] = JSON.parse((await runOk(fixture('patch-module', 'main.js'), { env: { LIVEPATCH_DEBUG: '0' } })).stdout);
  });

  test("livepatch and Node's built-in modules are the process's own", () => {
    assert.equal(first.livepatch, 'function');
    assert.equal(first.builtin, 'fix.js patch');
  });

  test("import.meta gives the file's URL, path and directory, and resolves paths", () => {
    assert.deepEqual([first.url, first.resolved, first.builtin], [true, true, 'fix.js patch']);
  });

  test("default, named, renamed and namespace imports of the patch's own files", () => {
    assert.deepEqual([first.helperDefault, first.namespace, first.tag], ['helper default', ['bump', 'counter', 'default'], '[object Module]']);
  });

  test('re-exports: export *, export { x as y } from, and export * as', () => {
    assert.deepEqual([first.fromStar, first.renamed, first.namespaceOfStar], ['from star', 'original', ['default', 'fromStar', 'original']]);
  });

  test('a package is imported from the patch file\'s location', () => {
    assert.equal(first.packaged, 'a package next to the patch');
  });

  test("a cycle between two of the patch's files", () => {
    assert.equal(first.cyclic, 'a and b, which sees a');
  });

  test('top-level await, and import() when the replacement runs', () => {
    assert.deepEqual([first.awaited, first.late], ['awaited', 'imported when the replacement first ran']);
  });

  test("stack traces keep each file's lines", () => {
    assert.equal(first.thrown, 'thrower.js:4:9)');
  });

  test('each load runs every file afresh', () => {
    assert.equal(first.count, 1);
    assert.deepEqual(second, first);
  });
});
