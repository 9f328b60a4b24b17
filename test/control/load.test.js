// `livepatch load` and `unload` facing an author's or an operator's mistake,
// each refused with its own code and hint and nothing changed: a module id
// that matches no loaded module (exit 6, with the ids it most likely meant;
// --allow-unloaded keeps the kernel's semantics for a module that loads
// later), a replacement without self or with too many parameters, a patch
// file that is missing, does not parse, throws or exports no definition,
// and the unload of a patch atomic replace freed (exit 9).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers.js';
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

test('a replacement that leaves out self, or takes more arguments than the original gets, is refused before it is enabled', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const noSelf = await cli(['load', patch('fix-greet-no-self.js')], { dir });
  assert.equal(noSelf.stderr, [
    "livepatch: patch 'fix-greet-no-self', object 'src/server.js', symbol 'greet': self is missing: the replacement declares the original's 1 parameter, the first named 'name', which receives the original's this",
    '  hint: a replacement takes the original\'s this first, then its arguments: write (self, …) (or name the first parameter _ when unused); see "The replacement\'s parameters" in docs/writing-patches.md',
    '',
  ].join('\n'));
  assert.equal(noSelf.code, 1);
  assert.equal((await cliJson(['load', patch('fix-greet-no-self.js')], { dir }, 1)).error.code, 'ERR_LP_SELF_MISSING');
  const arity = await cliJson(['load', patch('fix-greet-arity.js')], { dir }, 1);
  assert.equal(arity.error.code, 'ERR_LP_ARITY');
  assert.equal(arity.error.message, "patch 'fix-greet-arity', object 'src/server.js', symbol 'greet': the replacement takes more arguments than the original is called with: the replacement declares 2 after self, the original 1 parameter: the extra ones would always be undefined");
  // Nothing was enabled, and the original serves.
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
  assert.equal(await get(app.port, '/greet'), 'hello world');
});

test('unload of a patch atomic replace freed says which patch replaced it (exit 9); once that one is unloaded, there is no such patch', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  await cliOk(['load', patch('fix-greet.js')], { dir });
  await cliOk(['load', patch('fix-greet-v2.js')], { dir });
  const replaced = await cli(['unload', 'fix-greet'], { dir });
  assert.equal(replaced.stdout, '');
  assert.equal(replaced.stderr, [
    "livepatch: patch 'fix-greet': no longer loaded: atomic replace by 'fix-greet-v2' freed it, and 'fix-greet-v2' carries its functions now",
    "  hint: to run the original code again, unload 'fix-greet-v2'; `livepatch list` shows the loaded patches",
    '',
  ].join('\n'));
  assert.equal(replaced.code, 9);
  assert.equal((await cliJson(['info', 'fix-greet'], { dir }, 9)).error.code, 'ERR_LP_REPLACED');
  assert.equal(await get(app.port, '/greet'), 'patched again hello world');

  await cliOk(['unload', 'fix-greet-v2'], { dir });
  assert.equal((await cliJson(['unload', 'fix-greet'], { dir }, 1)).error.code, 'ERR_LP_NO_PATCH');
  assert.equal(await get(app.port, '/greet'), 'hello world');
});

test('a missing file, a syntax error, a throwing top level and no default export: each its own code and hint, and nothing changes', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const errors = fixture('errors');
  const missing = await cli(['load', path.join(errors, 'missing-patch.ts')], { dir });
  assert.equal(missing.stderr, [
    `livepatch: no patch file ${path.join(errors, 'missing-patch.ts')}`,
    '  hint: check the path: the CLI takes it from its own current directory, and an import in a patch names a file relative to the importing file',
    '',
  ].join('\n'));
  const refused = {};
  for (const file of ['missing-patch.ts', 'syntax-error.js', 'throws.js', 'no-default.ts']) {
    const { error } = await cliJson(['load', path.join(errors, file)], { dir }, 1);
    refused[file] = { code: error.code, hint: error.hint };
  }
  assert.deepEqual(Object.fromEntries(Object.entries(refused).map(([file, { code }]) => [file, code])), {
    'missing-patch.ts': 'ERR_LP_PATCH_NOT_FOUND', 'syntax-error.js': 'ERR_LP_PATCH_SYNTAX', 'throws.js': 'ERR_LP_PATCH_THREW', 'no-default.ts': 'ERR_LP_NO_DEFAULT_EXPORT',
  });
  assert.equal(new Set(Object.values(refused).map((r) => r.hint)).size, 4);
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
  assert.equal(await get(app.port, '/greet'), 'hello world');
});
