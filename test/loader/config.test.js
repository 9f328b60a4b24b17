// Module ids and the include/exclude globs, and `livepatch run`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { globToRegExp, isValidModuleId, loadConfig, ModuleFilter, moduleIdOf } from 'livepatch/internal';
import { CLI, REGISTER, ROOT } from '../helpers.js';

test('module ids: app-relative paths, and <package>/<path in package> whatever the node_modules layout', () => {
  const root = '/srv/app';
  assert.equal(moduleIdOf('/srv/app/src/orders.js', root), 'src/orders.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/lodash/lodash.js', root), 'lodash/lodash.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/@scope/pkg/lib/a.js', root), '@scope/pkg/lib/a.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/a/node_modules/b/index.js', root), 'b/index.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/.pnpm/b@1.0.0/node_modules/b/index.js', root), 'b/index.js');
  assert.equal(moduleIdOf('/elsewhere/node_modules/b/index.js', root), 'b/index.js');
});

test('module ids: a file outside the fixed root is named by its own root, never with ..', () => {
  const fixtures = path.join(ROOT, 'test', 'fixtures');
  assert.equal(moduleIdOf(path.join(fixtures, 'support', 'slots.js'), path.join(fixtures, 'mixed')), 'test/fixtures/support/slots.js');
  assert.equal(moduleIdOf(path.join(fixtures, 'mixed', 'src', 'esm-lib.js'), null), 'src/esm-lib.js');
  assert.equal(moduleIdOf(path.join(fixtures, 'mixed', 'src', 'esm-lib.js'), fixtures), 'mixed/src/esm-lib.js');
});

test('well-formed module ids', () => {
  for (const id of ['src/orders.js', 'lodash/lodash.js', '@scope/pkg/a.js', 'main.js']) assert.ok(isValidModuleId(id), id);
  for (const id of ['', '/abs/path.js', 'a//b.js', './a.js', 'a/../b.js', 'a b.js', 'a\\b.js', 'x'.repeat(1025), 42, null]) {
    assert.ok(!isValidModuleId(id), String(id));
  }
});

test('globs: * stays in a segment, ** crosses segments', () => {
  const cases = [
    ['src/*.js', 'src/a.js', true], ['src/*.js', 'src/x/a.js', false], ['src/**', 'src/x/a.js', true],
    ['**/a.js', 'a.js', true], ['src/**/a.js', 'src/a.js', true], ['lodash/**', 'lodash-es/x.js', false],
    ['?.js', 'a.js', true], ['a.js', 'a-js', false],
  ];
  for (const [glob, id, want] of cases) assert.equal(globToRegExp(glob).test(id), want, `${glob} ~ ${id}`);
});

test('the module filter: include, then exclude, and never livepatch itself', () => {
  const filter = new ModuleFilter({ include: ['src/**', 'express/**'], exclude: ['src/gen/**'] });
  assert.ok(filter.accepts('src/a.js', '/app/src/a.js'));
  assert.ok(!filter.accepts('src/gen/x.js', '/app/src/gen/x.js'));
  assert.ok(!filter.accepts('lodash/x.js', '/app/node_modules/lodash/x.js'));
  assert.ok(!filter.accepts('livepatch/dist/index.js', '/app/node_modules/livepatch/dist/index.js'), 'never livepatch itself');
});

/** A scratch application directory holding `files` (name → JSON content). */
function appDir(t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-config-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), JSON.stringify(content));
  return dir;
}

const PKG = { livepatch: { include: ['src/**'], consistency: 'global', cache: false } };
const CONFIG = { exclude: ['gen/**'] };

test("configuration from package.json's livepatch key", async (t) => {
  const dir = appDir(t, { 'package.json': PKG });
  const config = await loadConfig(path.join(dir, 'main.js'), {});
  assert.deepEqual([config.root, config.include, config.consistency, config.cacheDir], [dir, ['src/**'], 'global', null]);
});

test('the environment takes precedence over package.json', async (t) => {
  const dir = appDir(t, { 'package.json': PKG });
  const config = await loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONSISTENCY: 'per-task', LIVEPATCH_CACHE: 'c' });
  assert.deepEqual([config.consistency, config.cacheDir], ['per-task', path.join(dir, 'c')]);
});

test('configuration from livepatch.config.json', async (t) => {
  const dir = appDir(t, { 'package.json': PKG, 'livepatch.config.json': CONFIG });
  assert.deepEqual((await loadConfig(path.join(dir, 'main.js'), {})).exclude, ['gen/**']);
});

test('the patch directory: watchDir relative to the root, LIVEPATCH_WATCH_DIR over it, none by default', async (t) => {
  const dir = appDir(t, { 'livepatch.config.json': { watchDir: 'patches' } });
  assert.equal((await loadConfig(path.join(dir, 'main.js'), {})).watchDir, path.join(dir, 'patches'));
  assert.equal((await loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_WATCH_DIR: '/etc/app/patches' })).watchDir, '/etc/app/patches');
  assert.equal((await loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_WATCH_DIR: '' })).watchDir, path.join(dir, 'patches'), 'empty is unset');
  const bare = appDir(t, { 'package.json': {} });
  assert.equal((await loadConfig(path.join(bare, 'main.js'), {})).watchDir, null);
  const wrong = appDir(t, { 'livepatch.config.json': { watchDir: 7 } });
  await assert.rejects(loadConfig(path.join(wrong, 'main.js'), {}), { code: 'ERR_LP_CONFIG', message: /watchDir must be a path, not 7$/ });
});

test('an unknown consistency mode is a configuration error', async (t) => {
  const dir = appDir(t, { 'package.json': PKG, 'livepatch.config.json': CONFIG });
  await assert.rejects(loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONSISTENCY: 'sometimes' }), {
    code: 'ERR_LP_CONFIG', message: "invalid livepatch configuration: unknown consistency mode \"sometimes\" (use 'per-task' or 'global')",
  });
});

test("the application's name: LIVEPATCH_APP, else `app` in the configuration, else package.json's name", async (t) => {
  const dir = appDir(t, { 'package.json': { name: '@shop/api', livepatch: { app: 'shop' } } });
  const bare = appDir(t, { 'package.json': { name: '@shop/api' } });
  const entry = (d) => path.join(d, 'main.js');
  assert.deepEqual(
    [(await loadConfig(entry(dir), {})).app, (await loadConfig(entry(dir), { LIVEPATCH_APP: 'shop-eu' })).app, (await loadConfig(entry(bare), {})).app],
    ['shop', 'shop-eu', '@shop/api'],
  );
  await assert.rejects(loadConfig(entry(dir), { LIVEPATCH_APP: 'a b' }), { code: 'ERR_LP_CONFIG', message: /LIVEPATCH_APP="a b" is not an application name/ });
});

/** A scratch application whose configuration trusts a freshly made key (its file in `key`), and another key (`other`). */
function signedApp(t) {
  const keyFile = (dir, name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    return file;
  };
  const dir = appDir(t, { 'package.json': { livepatch: { trustedKey: 'trusted.pub' } } });
  return { dir, entry: path.join(dir, 'main.js'), key: keyFile(dir, 'trusted.pub'), other: keyFile(dir, 'other.pub') };
}

test('an empty LIVEPATCH_TRUSTED_KEY leaves the configured key in force', async (t) => {
  const app = signedApp(t);
  assert.equal((await loadConfig(app.entry, { LIVEPATCH_TRUSTED_KEY: '' })).trustedKey.file, app.key);
});

test('LIVEPATCH_TRUSTED_KEY turns signing on where the configuration trusts no key', async (t) => {
  const app = signedApp(t);
  fs.writeFileSync(path.join(app.dir, 'package.json'), '{}');
  assert.equal((await loadConfig(app.entry, { LIVEPATCH_TRUSTED_KEY: app.other })).trustedKey.file, app.other);
});

test('LIVEPATCH_TRUSTED_KEY cannot replace the key the configuration trusts', async (t) => {
  const app = signedApp(t);
  await assert.rejects(loadConfig(app.entry, { LIVEPATCH_TRUSTED_KEY: app.other }), {
    code: 'ERR_LP_CONFIG',
    message: `invalid livepatch configuration: LIVEPATCH_TRUSTED_KEY names ${app.other}, but the configuration trusts ${app.key}; the environment may turn signing on, not change the key`,
  });
});

test('a trusted key that does not exist is ERR_LP_TRUSTED_KEY, at start', async (t) => {
  const app = signedApp(t);
  fs.rmSync(app.key);
  await assert.rejects(loadConfig(app.entry, {}), { code: 'ERR_LP_TRUSTED_KEY', message: /^cannot use the trusted key: .*trusted\.pub: ENOENT/ });
});

test('a trusted key that is not an Ed25519 public key is ERR_LP_TRUSTED_KEY', async (t) => {
  const app = signedApp(t);
  fs.writeFileSync(app.key, crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await assert.rejects(loadConfig(app.entry, {}), { code: 'ERR_LP_TRUSTED_KEY', message: `cannot use the trusted key: ${app.key}: it is not an Ed25519 public key in PEM` });
});

test('a trusted key another user could change is ERR_LP_TRUSTED_KEY', async (t) => {
  const app = signedApp(t);
  fs.chmodSync(app.key, 0o666);
  await assert.rejects(loadConfig(app.entry, {}), { code: 'ERR_LP_TRUSTED_KEY', message: `cannot use the trusted key: refusing ${app.key}: it is writable by others (mode 666)` });
});

test('flags take the usual boolean spellings, in any case; empty is unset', async (t) => {
  const dir = appDir(t, { 'package.json': {} });
  const control = async (value) => (await loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONTROL: value })).control;
  for (const off of ['0', 'false', 'FALSE', 'no', 'off', 'Off']) assert.equal(await control(off), false, off);
  for (const on of ['1', 'true', 'True', 'yes', 'on', '']) assert.equal(await control(on), true, on);
});

test('a flag that is not a boolean is refused, not guessed at', async (t) => {
  const dir = appDir(t, { 'package.json': {} });
  await assert.rejects(loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_INSTALLED: 'maybe' }), {
    code: 'ERR_LP_CONFIG', message: 'invalid livepatch configuration: LIVEPATCH_INSTALLED="maybe" is not a boolean: use 1 or 0, true or false, yes or no, on or off',
  });
});

test('a misspelt setting is refused, not ignored', async (t) => {
  const dir = appDir(t, { 'package.json': { livepatch: { trustedkey: 'trusted.pub' } } });
  await assert.rejects(loadConfig(path.join(dir, 'main.js'), {}), { code: 'ERR_LP_CONFIG', message: /unknown setting 'trustedkey' \(the settings are include, exclude, cache, / });
});

test('a setting of the wrong type is refused', async (t) => {
  const dir = appDir(t, { 'livepatch.config.json': { include: 'src/**' } });
  await assert.rejects(loadConfig(path.join(dir, 'main.js'), {}), { code: 'ERR_LP_CONFIG', message: /livepatch\.config\.json: include must be a list of globs, not "src\/\*\*"$/ });
});

test('a livepatch.config.json that does not parse is refused, not skipped', async (t) => {
  const dir = appDir(t, { 'package.json': {} });
  fs.writeFileSync(path.join(dir, 'livepatch.config.json'), '{ "trustedKey": ');
  await assert.rejects(loadConfig(path.join(dir, 'main.js'), {}), { code: 'ERR_LP_CONFIG', message: /livepatch\.config\.json: / });
});

// An invalid setting never stops the program, and is never replaced by a
// guess: the program runs without livepatch, and says so once.
describe('a program started with an invalid setting', () => {
  let result;
  before(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-invalid-'));
    try {
      fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      fs.writeFileSync(path.join(dir, 'app.js'), 'console.log(typeof globalThis.__livepatch);\n');
      result = spawnSync(process.execPath, ['--import', REGISTER, path.join(dir, 'app.js')], {
        encoding: 'utf8', env: { ...process.env, LIVEPATCH_CACHE: '0', LIVEPATCH_CONSISTENCY: 'sometimes' },
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('runs, without livepatch', () => {
    assert.deepEqual([result.status, result.stdout], [0, 'undefined\n']);
  });

  test('says which setting, why, and that livepatch is off, once', () => {
    assert.equal(result.stderr, [
      'livepatch: invalid livepatch configuration: unknown consistency mode "sometimes" (use \'per-task\' or \'global\'); the program runs without livepatch',
      '  hint: see docs/cli.md, "Environment", for the settings and the values they take',
      '',
    ].join('\n'));
  });
});

// One run of a program through `livepatch run`.
describe('livepatch run', () => {
  let result;
  before(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-run-'));
    try {
      fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      fs.writeFileSync(path.join(dir, 'app.js'), 'console.log(typeof globalThis.__livepatch, process.argv.slice(2).join(" ")); process.exitCode = 7;\n');
      result = spawnSync(process.execPath, [CLI, 'run', path.join(dir, 'app.js'), '--port', '3000', 'x'], { encoding: 'utf8', env: { ...process.env, LIVEPATCH_CACHE: '0' } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the program runs instrumented, and gets its arguments', () => {
    assert.equal(result.stdout.trim(), 'object --port 3000 x');
  });

  test("the program's exit code is the command's", () => {
    assert.equal(result.status, 7);
  });
});

test('livepatch run without a script is a usage error', () => {
  const usage = spawnSync(process.execPath, [CLI, 'run'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: livepatch run <script>/);
});
