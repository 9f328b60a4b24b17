// Module ids and the include/exclude globs, and `livepatch run`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
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
  const filter = new ModuleFilter({ include: ['src/**', 'express/**'], exclude: ['src/gen/**'] });
  assert.ok(filter.accepts('src/a.js', '/app/src/a.js'));
  assert.ok(!filter.accepts('src/gen/x.js', '/app/src/gen/x.js'));
  assert.ok(!filter.accepts('lodash/x.js', '/app/node_modules/lodash/x.js'));
  assert.ok(!filter.accepts('livepatch/dist/index.js', '/app/node_modules/livepatch/dist/index.js'), 'never livepatch itself');
});

test('configuration from package.json, livepatch.config.json and the environment', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-config-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ livepatch: { include: ['src/**'], consistency: 'global', cache: false } }));
  let config = loadConfig(path.join(dir, 'main.js'), {});
  assert.deepEqual([config.root, config.include, config.consistency, config.cacheDir], [dir, ['src/**'], 'global', null]);
  config = loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONSISTENCY: 'per-task', LIVEPATCH_CACHE: 'c' });
  assert.deepEqual([config.consistency, config.cacheDir], ['per-task', path.join(dir, 'c')]);
  fs.writeFileSync(path.join(dir, 'livepatch.config.json'), JSON.stringify({ exclude: ['gen/**'] }));
  assert.deepEqual(loadConfig(path.join(dir, 'main.js'), {}).exclude, ['gen/**']);
  assert.throws(() => loadConfig(path.join(dir, 'main.js'), { LIVEPATCH_CONSISTENCY: 'sometimes' }), {
    code: 'ERR_LP_CONFIG', message: "invalid livepatch configuration: unknown consistency mode 'sometimes' (use 'per-task' or 'global')",
  });
});

test('livepatch run: the program runs instrumented, gets its arguments, and its exit code is ours', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-run-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  fs.writeFileSync(path.join(dir, 'app.js'), 'console.log(typeof globalThis.__livepatch, process.argv.slice(2).join(" ")); process.exitCode = 7;\n');
  const result = spawnSync(process.execPath, [CLI, 'run', path.join(dir, 'app.js'), '--port', '3000', 'x'], { encoding: 'utf8', env: { ...process.env, LIVEPATCH_CACHE: '0' } });
  assert.equal(result.stdout.trim(), 'object --port 3000 x');
  assert.equal(result.status, 7);
  const usage = spawnSync(process.execPath, [CLI, 'run'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: livepatch run <script>/);
});
