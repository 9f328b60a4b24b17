// Symbol discovery (the kallsyms analog), through `livepatch symbols`:
// names, sympos for duplicates, kinds, hashes and lines on tricky sources,
// and the once-run scopes of bundles, UMD wrappers and TypeScript output.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { CLI, fixture } from '../helpers.js';

function symbolsOf(file, ...args) {
  return JSON.parse(execFileSync(process.execPath, [CLI, 'symbols', file, '--json', ...args], { encoding: 'utf8' }));
}

const brief = (symbols) => symbols.map((s) => `${s.name},${s.sympos} ${s.kind}${s.slot < 0 ? ' (not patchable)' : ''}`);

// One table of tricky.mjs; each test reads its part.
describe('ESM: declarations, bound expressions, class members, object literals, duplicates', () => {
  let result;
  before(() => {
    result = symbolsOf(fixture('symbols', 'tricky.mjs'));
  });

  test('the module id', () => {
    assert.equal(result.module, 'tricky.mjs');
  });

  test('every symbol, in order, with its sympos and kind', () => {
    assert.deepEqual(brief(result.symbols), [
      'dup,1 sync',
      'fetchUser,1 async',
      'gen,1 generator',
      'agen,1 async-generator',
      'arrow,1 sync',
      'withDefaults,1 sync',
      'named,1 sync',
      'Cart,1 constructor (not patchable)',
      'Cart.prototype.add,1 sync',
      'Cart.create,1 sync',
      'Cart.prototype.size:get,1 getter',
      'Cart.prototype.size:set,1 setter',
      'Cart.prototype.save,1 async',
      'Cart.prototype[Symbol.iterator],1 generator',
      'Cart.prototype.#secret,1 sync',
      'Cart.#hidden,1 sync',
      'Cart.prototype["quoted-name"],1 sync',
      'Cart.prototype[42],1 sync',
      'api.list,1 sync',
      'api.count:get,1 getter',
      'api.nested.deep,1 sync',
      'api.handler,1 sync',
      'dup,2 sync',
      'default,1 sync',
      'inIife,1 sync',
      'outer,1 sync',
    ]);
  });

  test('a class constructor is listed as not patchable, with the reason', () => {
    const ctor = result.symbols.find((s) => s.name === 'Cart');
    assert.match(ctor.reason, /class constructors cannot be patched/);
  });

  test('every symbol has a hash', () => {
    for (const s of result.symbols) assert.match(s.hash, /^[0-9a-f]{16}$/);
  });

  test("lines are the original file's, and the two dups hash differently", () => {
    assert.equal(result.symbols.find((s) => s.name === 'Cart.prototype.add').line, 10);
    const dups = result.symbols.filter((s) => s.name === 'dup');
    assert.deepEqual(dups.map((s) => s.line), [1, 24]);
    assert.notEqual(dups[0].hash, dups[1].hash);
  });
});

test('CommonJS: module.exports literals, exports.x, prototype assignments, TS namespace and ES5 class IIFEs', () => {
  const result = symbolsOf(fixture('symbols', 'tricky.cjs'));
  assert.deepEqual(brief(result.symbols), [
    'module.exports.total,1 sync',
    'module.exports.format,1 sync',
    'module.exports.parse,1 sync',
    'exports.helper,1 sync',
    'module.exports.late,1 async',
    'Legacy,1 sync',
    'Legacy.prototype.run,1 sync',
    'f,1 sync',
    'Es5Class,1 sync',
    'Es5Class.prototype.method,1 sync',
  ]);
});

test('UMD: the factory passed to the wrapper is a once-run scope', () => {
  const result = symbolsOf(fixture('symbols', 'umd.cjs'));
  assert.deepEqual(brief(result.symbols), ['api,1 sync', 'helper,1 sync', 'helper2,1 sync']);
  // Three scopes: the module, the wrapper, the factory.
  assert.deepEqual(result.symbols.map((s) => s.scope), [2, 2, 2]);
});

test('esbuild and TypeScript output are instrumentable', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-symbols-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"emitted"}');
  const source = `
    export class Store { get(k: string): number { return k.length; } }
    export async function load(id: number): Promise<number> { return id; }
    export namespace Util { export function pad(s: string) { return s; } }
    export const helper = (n: number) => n + 1;`;
  fs.writeFileSync(path.join(dir, 'entry.ts'), source);

  // esbuild IIFE bundle: everything inside one top-level IIFE.
  await esbuild.build({ entryPoints: [path.join(dir, 'entry.ts')], bundle: true, format: 'iife', globalName: 'lib', outfile: path.join(dir, 'bundle.js'), logLevel: 'silent' });
  const bundled = symbolsOf(path.join(dir, 'bundle.js')).symbols.map((s) => s.name);
  for (const name of ['Store.prototype.get', 'load', 'pad', 'helper']) assert.ok(bundled.includes(name), `${name} in ${bundled}`);

  // tsc, CommonJS down to ES5: classes and namespaces become IIFEs.
  const es5 = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES5 } }).outputText;
  fs.writeFileSync(path.join(dir, 'es5.js'), es5);
  const names = symbolsOf(path.join(dir, 'es5.js')).symbols.map((s) => s.name);
  for (const name of ['Store', 'Store.prototype.get', 'load', 'pad', 'helper']) assert.ok(names.includes(name), `${name} in ${names}`);
});

test('human output names the module and each symbol', () => {
  const out = execFileSync(process.execPath, [CLI, 'symbols', fixture('symbols', 'tricky.cjs')], { encoding: 'utf8' });
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0], 'module tricky.cjs');
  assert.match(lines[1], /^SYMBOL\s+SYMPOS\s+KIND\s+LINE\s+HASH$/);
  assert.match(lines[2], /^module\.exports\.total\s+1\s+sync\s+2\s+[0-9a-f]{16}$/);
});

test('a file that cannot be read is a usage error', () => {
  const missing = spawnSync(process.execPath, [CLI, 'symbols', fixture('symbols', 'nope.js')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*nope\.js/);
});
