// Module ids and the include/exclude globs, and `livepatch run`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { globToRegExp, isValidModuleId, loadConfig, ModuleFilter, moduleIdOf } from 'livepatch/internal';
import { CLI } from '../helpers.js';

test('module ids: app-relative paths, and <package>/<path in package> whatever the node_modules layout', () => {
  const root = '/srv/app';
  assert.equal(moduleIdOf('/srv/app/src/orders.js', root), 'src/orders.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/lodash/lodash.js', root), 'lodash/lodash.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/@scope/pkg/lib/a.js', root), '@scope/pkg/lib/a.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/a/node_modules/b/index.js', root), 'b/index.js');
  assert.equal(moduleIdOf('/srv/app/node_modules/.pnpm/b@1.0.0/node_modules/b/index.js', root), 'b/index.js');
  assert.equal(moduleIdOf('/elsewhere/node_modules/b/index.js', root), 'b/index.js');
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

test("configuration from package.json's livepatch key", (t) => {
  const dir = appDir(t, { 'package.json': PKG });
  const config = loadConfig(path.join(dir, 'main.js'), {});
  assert.deepEqual([config.root, config.include, config.consistency, config.cacheDir], [dir, ['src/**'], 'global', null]);
});

test('the environment takes precedence over package.json', (t) => {
  const dir = appDir(t, { 'package.json': PKG });
  const config = loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONSISTENCY: 'per-task', LIVEPATCH_CACHE: 'c' });
  assert.deepEqual([config.consistency, config.cacheDir], ['per-task', path.join(dir, 'c')]);
});

test('configuration from livepatch.config.json', (t) => {
  const dir = appDir(t, { 'package.json': PKG, 'livepatch.config.json': CONFIG });
  assert.deepEqual(loadConfig(path.join(dir, 'main.js'), {}).exclude, ['gen/**']);
});

test('an unknown consistency mode is a configuration error', (t) => {
  const dir = appDir(t, { 'package.json': PKG, 'livepatch.config.json': CONFIG });
  assert.throws(() => loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONSISTENCY: 'sometimes' }), {
    code: 'ERR_LP_CONFIG', message: "invalid livepatch configuration: unknown consistency mode 'sometimes' (use 'per-task' or 'global')",
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
