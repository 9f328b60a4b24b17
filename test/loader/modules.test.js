// Instrumentation at load time in real processes: ESM, CommonJS, mixed
// graphs, require(esm), dependencies in node_modules, exclusion globs,
// emitted code, the module life cycle, and the fallback for a module the
// loader cannot parse.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { fixture, ROOT, runOk, transcript } from '../helpers.js';

// One run of the mixed graph: its checks, keyed by check, and its modules.
describe('mixed graph: ESM, CommonJS, require(esm), scoped and nested dependencies, excluded files', () => {
  const CHECKS = [
    'every kind of module runs as written',
    'a nested dependency, reached from ESM through CommonJS, is patchable',
    'an ES module required from CommonJS is patchable',
    'a scoped ES dependency is patchable',
  ];
  let result;
  let log;
  before(async () => {
    const { stdout, stderr } = await runOk(fixture('mixed', 'main.js'));
    result = JSON.parse(stdout);
    log = transcript(stderr);
  });

  test('the fixture runs every check, and no other', () => {
    assert.deepEqual(Object.keys(result.checks), CHECKS);
  });
  for (const name of CHECKS) {
    test(name, () => assert.equal(result.checks[name], 'ok'));
  }

  // support/slots.js lies outside the fixture's root: its id is relative to
  // its own root, the repository's, never '../support/slots.js'.
  test('every instrumented module is listed with its id and state; the excluded file is not', () => {
    assert.deepEqual(result.modules, [
      '@scope/esm-dep/index.js live',
      'fixture-dep/lib/index.js live',
      'main.js coming',
      'nested-dep/index.js live',
      'src/cjs-lib.cjs live',
      'src/esm-from-cjs.mjs live',
      'src/esm-lib.js live',
      'test/fixtures/support/slots.js live',
    ]);
  });

  test('nothing is logged', () => {
    assert.deepEqual(log, []);
  });
});

test('module life cycle: COMING until the body (and its top-level await) completes, LIVE, GOING', async () => {
  const { stdout } = await runOk(fixture('lifecycle', 'main.js'));
  assert.equal(stdout.trim(), 'lifecycle ok');
});

test('a module the loader cannot parse loads uninstrumented, with one warning naming it and the cause', async () => {
  const dir = fixture('fallback');
  const { stdout, stderr } = await runOk(path.join(dir, 'main.js'), { nodeArgs: ['--allow-natives-syntax'] });
  assert.equal(stdout.split('\n')[0], 'natives module ran number number other instrumented');
  assert.deepEqual(JSON.parse(stdout.split('\n')[1]), ['main.js', 'other.js']);
  assert.deepEqual(transcript(stderr), [
    `livepatch: cannot instrument 'natives.js' (${path.join(dir, 'natives.js')}): [2:35-2:36]: Unexpected token: '%'; it runs unpatchable`,
    `livepatch: cannot instrument 'natives-cjs.cjs' (${path.join(dir, 'natives-cjs.cjs')}): [1:39-1:40]: Unexpected token: '%'; it runs unpatchable`,
  ]);
});

test('TypeScript- and esbuild-emitted JavaScript runs instrumented and patchable', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-emitted-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const source = `
    export class Store { get(k: string): number { return k.length; } }
    export async function load(id: number): Promise<number> { return id * 2; }
    export const helper = (n: number) => n + 1;`;
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"emitted","type":"module"}');
  fs.writeFileSync(path.join(dir, 'lib.ts'), source);
  fs.writeFileSync(path.join(dir, 'tsc-es2022.js'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  fs.writeFileSync(path.join(dir, 'tsc-es5.cjs'), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES5 } }).outputText);
  await esbuild.build({ entryPoints: [path.join(dir, 'lib.ts')], bundle: true, format: 'esm', outfile: path.join(dir, 'esbuild-esm.js'), logLevel: 'silent' });
  await esbuild.build({ entryPoints: [path.join(dir, 'lib.ts')], bundle: true, format: 'cjs', outfile: path.join(dir, 'esbuild-cjs.cjs'), logLevel: 'silent' });
  const support = path.join(ROOT, 'test', 'fixtures', 'support', 'slots.js');
  fs.writeFileSync(path.join(dir, 'main.js'), `
    import assert from 'node:assert/strict';
    import { createRequire } from 'node:module';
    import { slot } from ${JSON.stringify(support)};
    const require = createRequire(import.meta.url);
    const mods = {
      'tsc-es2022.js': await import('./tsc-es2022.js'),
      'tsc-es5.cjs': require('./tsc-es5.cjs'),
      'esbuild-esm.js': await import('./esbuild-esm.js'),
      'esbuild-cjs.cjs': require('./esbuild-cjs.cjs'),
    };
    for (const [id, m] of Object.entries(mods)) {
      assert.equal(new m.Store().get('abc'), 3, id);
      assert.equal(await m.load(2), 4, id);
      slot(id, 'Store.prototype.get').set(() => -1);
      slot(id, 'load').set(async () => 'patched');
      slot(id, 'helper').set(() => 'patched');
      assert.equal(new m.Store().get('abc'), -1, id);
      assert.equal(await m.load(2), 'patched', id);
      assert.equal(m.helper(1), 'patched', id);
    }
    console.log('emitted ok');
  `);
  const { stdout } = await runOk(path.join(dir, 'main.js'));
  assert.equal(stdout.trim(), 'emitted ok');
});
