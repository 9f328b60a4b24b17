// The patched code really runs: through references and instances captured
// before the patch, in class methods, reaching unexported helpers and
// module state through the scope table, in every instance of a module id;
// and a module instance the patch was not built for is refused loudly.
import assert from 'node:assert/strict';
import test from 'node:test';
import { fixture, runOk, transcript } from '../helpers.js';

test('captured references, class methods, scope tables, reloading a freed patch, instances, hash refusal', async () => {
  const { stdout, stderr } = await runOk(fixture('instances', 'main.js'));
  assert.deepEqual(JSON.parse(stdout), {
    before: [120, 'shop v1'],
    // floor(133 * 0.75): the new total reads `discount`, which postPatch set through the scope table.
    patched: [99, 'shop v2', 7],
    unpatched: [120, 'shop v1'],
    reloaded: [99, 'shop v2'],
    instances: [1, 2],
    // Each instance's replacement uses that instance's `escape` and `calls`.
    render: ['<p>&lt;b></p>', '<p>&lt;i></p>', 1, 1],
    third: 'ERR_LP_MODULE_REFUSED EINVAL (ERR_LP_HASH_MISMATCH)',
  });
  assert.deepEqual(transcript(stderr).slice(-2), [
    "livepatch: failed to initialize patch 'fix-render' for module 'dep/index.js' (-22)",
    "livepatch: patch 'fix-render' failed for module 'dep/index.js', refusing to load module 'dep/index.js'",
  ]);
});
