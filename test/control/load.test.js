// `livepatch load` of a patch whose module is not loaded: a wrong module id
// looks just like a module that has not loaded yet, so the CLI refuses both
// (exit 6, nothing changed) and names the loaded ids it most likely meant;
// --allow-unloaded keeps the kernel's semantics for a module that loads later.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli, cliJson, cliOk, get, LIMIT, patch, runtimeDir, startApp } from './support.js';

test('a wrong module id is refused with the id it most likely meant, and nothing changes', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const refused = await cli(['load', patch('fix-greet-wrong-id.js')], { dir });
  assert.equal(refused.stderr, [
    "livepatch: patch 'fix-greet-wrong-id': a module it names is not loaded: 'server.js' (did you mean 'src/server.js'?)",
    '  hint: a module id is the path from the application root, or <package>/<path in package> for a dependency: `livepatch symbols <file>` prints the id of a file; to load a patch for a module that has not loaded yet, pass --allow-unloaded',
    '',
  ].join('\n'));
  assert.equal(refused.code, 6);
  const json = await cliJson(['load', patch('fix-greet-wrong-id.js')], { dir }, 6);
  assert.equal(json.error.code, 'ERR_LP_NOT_LOADED');
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
  assert.equal(await get(app.port, '/greet'), 'hello world');
});

test('a module not loaded yet: refused by default, applied when it loads with --allow-unloaded', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const refused = await cli(['load', patch('fix-lazy.js')], { dir });
  assert.equal(refused.stderr.split('\n')[0], "livepatch: patch 'fix-lazy': a module it names is not loaded: 'src/lazy.js'");
  assert.equal(refused.code, 6);
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);

  await cliOk(['load', patch('fix-lazy.js'), '--allow-unloaded'], { dir });
  assert.deepEqual((await cliJson(['list'], { dir })).patches.map((p) => p.name), ['fix-lazy']);
  assert.equal(await get(app.port, '/lazy'), 'lazy patched');
});
