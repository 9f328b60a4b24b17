// The patched code really runs: through references and instances captured
// before the patch, in class methods, reaching unexported helpers and
// module state through the scope table, in every instance of a module id;
// and a module instance the patch was not built for is refused loudly.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, runOk, transcript } from '../helpers.js';

describe('a program patched, unpatched and patched again, with two instances of a dependency and a third refused', () => {
  // One run of the fixture: it prints one value per behaviour.
  let result;
  let log;
  before(async () => {
    const { stdout, stderr } = await runOk(fixture('instances', 'main.js'));
    result = JSON.parse(stdout);
    log = transcript(stderr);
  });

  test('the fixture reports every behaviour, and no other', () => {
    assert.deepEqual(Object.keys(result), ['before', 'capturedReference', 'capturedInstance', 'newInstance', 'unpatched', 'reloaded', 'instances', 'render', 'third']);
  });

  test('unpatched, a captured reference and an instance run the original code', () => {
    assert.deepEqual(result.before, [120, 'shop v1']);
  });

  test('a function reference captured before the patch calls the new code', () => {
    assert.deepEqual(result.capturedReference, 'shop v2');
  });

  test('a class method called on an instance created before the patch runs the new code', () => {
    // floor(133 * 0.75): the new total rounds down.
    assert.deepEqual(result.capturedInstance, 99);
  });

  test('the new code reads module state that postPatch set through the scope table', () => {
    // floor(10 * 0.75): `discount` is 0.75 only if postPatch's write reached the module.
    assert.deepEqual(result.newInstance, 7);
  });

  test('disabling restores the original code, and postUnpatch the module state', () => {
    assert.deepEqual(result.unpatched, [120, 'shop v1']);
  });

  test('a freed patch can be loaded again, as a new patch', () => {
    assert.deepEqual(result.reloaded, [99, 'shop v2']);
  });

  test('two copies of a package are two instances of one module id, both patched', () => {
    assert.deepEqual(result.instances, [1, 2]);
  });

  test("each instance's replacement uses that instance's own scope", () => {
    // Each instance's replacement uses that instance's `escape` and `calls`.
    assert.deepEqual(result.render, ['<p>&lt;b></p>', '<p>&lt;i></p>', 1, 1]);
  });

  test("an instance whose code does not match the patch's hash is refused", () => {
    assert.deepEqual(result.third, 'ERR_LP_MODULE_REFUSED EINVAL (ERR_LP_HASH_MISMATCH)');
  });

  test('the refusal is logged as the kernel logs a module it refuses', () => {
    assert.deepEqual(log.slice(-2), [
      "livepatch: failed to initialize patch 'fix-render' for module 'dep/index.js' (-22)",
      "livepatch: patch 'fix-render' failed for module 'dep/index.js', refusing to load module 'dep/index.js'",
    ]);
  });
});
