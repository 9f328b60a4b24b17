// Bundles under livepatch: their stack traces are those of plain Node, and
// their functions are found by where they were written.
//
// Stack traces of bundles under livepatch are those of plain Node. With
// --enable-source-maps, every frame of a minified single-line bundle maps to
// the same original file, line, column and name: the loader moves the
// bundle's own map onto the instrumented code. Without source maps, frames
// keep their lines, and their columns on every line livepatch inserts
// nothing on (everything but the first line and one-line functions).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { CLI, fixture, runNode, runOk } from '../helpers.js';
import { cli, runtimeDir, startApp } from '../control/support.js';

const STACKS = fixture('source-maps', 'stacks.mjs');
const MARKED = fixture('source-maps', 'marked.mjs');

/** The output of `script` plain and under livepatch, each checked to run the bundle as it should. */
async function both(script, args, nodeArgs, env = {}) {
  const plain = await runOk(script, { args, nodeArgs, register: false });
  const patched = await runOk(script, { args, nodeArgs, env });
  const [plainMark, ...plainStacks] = plain.stdout.split('\n');
  const [patchedMark, ...patchedStacks] = patched.stdout.split('\n');
  assert.equal(plainMark, 'as written');
  assert.equal(patchedMark, 'instrumented');
  return { plain: plainStacks.join('\n'), patched: patchedStacks.join('\n') };
}

/** `file:line:column` of each frame in `stacks` whose location contains `part`. */
const framesIn = (stacks, part) => stacks.split('\n').filter((line) => line.startsWith('    at ') && line.includes(part)).map((line) => /([^ (]+:\d+:\d+)\)?$/.exec(line)[1]);

describe('the real marked bundle, minified, with its source map', () => {
  test('--enable-source-maps: every frame equals plain Node\'s', async () => {
    const { plain, patched } = await both(MARKED, [], ['--enable-source-maps']);
    assert.ok(framesIn(plain, 'marked/src/Lexer.ts:102:15').length === 1, plain);
    assert.ok(framesIn(plain, 'marked/src/').length >= 10, plain);
    assert.equal(patched, plain);
  });

  test('--enable-source-maps from the transform cache, cold, warm and with a damaged map: every frame equals plain Node\'s', async (t) => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-maps-cache-'));
    t.after(() => fs.rmSync(cache, { recursive: true, force: true }));
    const cold = await both(MARKED, [], ['--enable-source-maps'], { LIVEPATCH_CACHE: cache });
    assert.ok(fs.readdirSync(cache).some((f) => f.endsWith('.lp')));
    // The composed map is a file of the cache, not a data: URL in the code Node compiles.
    assert.equal(fs.readdirSync(path.join(cache, 'maps')).filter((f) => f.endsWith('.map')).length, 1);
    const warm = await both(MARKED, [], ['--enable-source-maps'], { LIVEPATCH_CACHE: cache });
    assert.equal(cold.patched, cold.plain);
    assert.equal(warm.patched, warm.plain);
    // A kept map that does not verify is composed and kept again, never used.
    const kept = path.join(cache, 'maps', fs.readdirSync(path.join(cache, 'maps'))[0]);
    const text = fs.readFileSync(kept, 'utf8');
    fs.writeFileSync(kept, text.replace(/"mappings":"(.)/, (_, c) => `"mappings":"${c === 'A' ? 'C' : 'A'}`));
    const damaged = await both(MARKED, [], ['--enable-source-maps'], { LIVEPATCH_CACHE: cache });
    assert.equal(damaged.patched, damaged.plain);
    assert.equal(fs.readFileSync(kept, 'utf8'), text);
  });

  test('an uncaught error prints the same source line and frames', async () => {
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lp-maps-')), 'uncaught.mjs');
    fs.writeFileSync(script, `import { Lexer } from ${JSON.stringify(import.meta.resolve('marked'))};\nnew Lexer().lex(123);\n`);
    const plain = await runNode(script, { nodeArgs: ['--enable-source-maps'], register: false });
    const patched = await runNode(script, { nodeArgs: ['--enable-source-maps'], env: { LIVEPATCH_DEBUG: '0' } });
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /src\/Lexer\.ts:102\n.*src\.replace/);
    assert.equal(patched.code, 1);
    assert.equal(patched.stderr, plain.stderr);
  });

  test('without source maps, every frame keeps its line', async () => {
    const { plain, patched } = await both(MARKED, [], []);
    const lines = (stacks) => framesIn(stacks, 'marked.esm.js').map((frame) => frame.replace(/:\d+$/, ''));
    assert.ok(lines(plain).length >= 10, plain);
    assert.deepEqual(lines(patched), lines(plain));
  });
});

describe('esbuild bundles of TypeScript sources', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-maps-'));
  const entry = fixture('source-maps', 'src', 'parse.ts');
  const bundle = async (name, options) => {
    const outfile = path.join(dir, name);
    await esbuild.build({ entryPoints: [entry], bundle: true, outfile, logLevel: 'silent', ...options });
    return outfile;
  };
  const bundles = {};
  before(async () => {
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "bundles" }');
    bundles.esmFile = await bundle('esm-file.mjs', { format: 'esm', minify: true, sourcemap: true });
    bundles.esmInline = await bundle('esm-inline.mjs', { format: 'esm', minify: true, sourcemap: 'inline' });
    bundles.cjsFile = await bundle('cjs-file.cjs', { format: 'cjs', minify: true, sourcemap: true });
    bundles.cjsNested = await bundle(path.join('nested', 'cjs-root.cjs'), { format: 'cjs', minify: true, sourcemap: true, sourceRoot: 'lib/' });
    bundles.readable = await bundle('readable.mjs', { format: 'esm' });
  });
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, sources] of [['esmFile', 'source-maps/src/'], ['esmInline', 'source-maps/src/'], ['cjsFile', 'source-maps/src/'], ['cjsNested', 'source-maps/src/']]) {
    test(`${name}: --enable-source-maps frames equal plain Node's`, async () => {
      const { plain, patched } = await both(STACKS, [bundles[name]], ['--enable-source-maps']);
      assert.ok(framesIn(plain, sources).length >= 8, plain);
      assert.equal(patched, plain);
    });
  }

  test('a map that cannot be read or decoded changes nothing: the bundle loads instrumented', async () => {
    const code = fs.readFileSync(bundles.esmFile, 'utf8').replace(/sourceMappingURL=.*$/m, 'sourceMappingURL=broken.mjs.map');
    fs.writeFileSync(path.join(dir, 'broken.mjs'), code);
    fs.writeFileSync(path.join(dir, 'broken.mjs.map'), JSON.stringify({ version: 3, sources: ['a.ts'], names: [], mappings: 'AAAA,!!;;' }));
    fs.writeFileSync(path.join(dir, 'no-map.mjs'), code.replace('broken.mjs.map', 'missing.mjs.map'));
    fs.writeFileSync(path.join(dir, 'bad-data.mjs'), code.replace('broken.mjs.map', 'data:application/json,%E0%A4%A'));
    for (const name of ['broken.mjs', 'no-map.mjs', 'bad-data.mjs']) {
      const { stdout } = await runOk(STACKS, { args: [path.join(dir, name)], nodeArgs: ['--enable-source-maps'] });
      assert.equal(stdout.split('\n')[0], 'instrumented', name);
    }
  });

  test('the minified bundle without source maps: the same lines', async () => {
    const { plain, patched } = await both(STACKS, [bundles.esmFile], []);
    const lines = (stacks) => framesIn(stacks, 'esm-file.mjs').map((frame) => frame.replace(/:\d+$/, ''));
    assert.ok(lines(plain).length >= 8, plain);
    assert.deepEqual(lines(patched), lines(plain));
  });

  test('the readable bundle without source maps: the same lines and columns', async () => {
    const { plain, patched } = await both(STACKS, [bundles.readable], []);
    assert.ok(framesIn(plain, 'readable.mjs').length >= 8, plain);
    assert.equal(patched, plain);
  });
});

describe('bundled functions by their original location', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-original-'));
  let bundleFile;
  before(async () => {
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "bundled", "type": "module" }');
    fs.copyFileSync(fixture('source-maps', 'patch-original.mjs'), path.join(dir, 'main.mjs'));
    fs.copyFileSync(fixture('source-maps', 'hold.mjs'), path.join(dir, 'hold.mjs'));
    bundleFile = path.join(dir, 'bundle.mjs');
    await esbuild.build({ entryPoints: [fixture('source-maps', 'src', 'parse.ts')], bundle: true, format: 'esm', minify: true, sourcemap: true, outfile: bundleFile, logLevel: 'silent' });
    fs.copyFileSync(bundleFile, path.join(dir, 'later.mjs'));
    await esbuild.build({ entryPoints: [fixture('source-maps', 'src', 'parse.ts')], bundle: true, format: 'cjs', minify: true, sourcemap: 'inline', outfile: path.join(dir, 'inline.cjs'), logLevel: 'silent' });
  });
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const symbols = (file, ...args) => execFileSync(process.execPath, [CLI, 'symbols', file, ...args], { encoding: 'utf8' });

  test('symbols shows, next to each minified symbol, its original file, line and name', () => {
    const table = symbols(path.join(dir, 'bundle.mjs')).split('\n');
    assert.match(table[1], /^SYMBOL +SYMPOS +KIND +LINE +HASH +ORIGINAL$/);
    const row = (name) => table.find((line) => line.endsWith(name))?.split(/ +/);
    assert.match(row('src/lexer.ts:5 lex')[0], /^\w+\.prototype\.lex$/);
    assert.match(row('src/parse.ts:6 parse')[5], /source-maps\/src\/parse\.ts:6$/);
    assert.match(row('src/parse.ts:14 parseLater')[2], /^async$/);
    assert.ok(row('src/lexer.ts:16 twice') && row('src/lexer.ts:16 thrice'), table.join('\n'));
    const json = JSON.parse(symbols(path.join(dir, 'bundle.mjs'), '--json'));
    const lex = json.symbols.find((s) => s.original?.name === 'lex');
    assert.equal(lex.original.line, 5);
    assert.match(lex.original.source, /(^|\/)test\/fixtures\/source-maps\/src\/lexer\.ts$/);
  });

  test('symbols reads an inline map too', () => {
    assert.match(symbols(path.join(dir, 'inline.cjs')), /^\S+\.prototype\.lex +1 +sync +\d+ +[0-9a-f]{16} +\S*test\/fixtures\/source-maps\/src\/lexer\.ts:5 lex$/m);
  });

  test('symbols -p: the live table of a loaded bundle shows the original locations too', async (t) => {
    const rt = runtimeDir(t);
    const app = await startApp(t, rt, { script: path.join(dir, 'hold.mjs'), env: { BUNDLE: bundleFile } });
    const live = await cli(['symbols', 'bundle.mjs', '-p', String(app.pid)], { dir: rt });
    assert.equal(live.code, 0, live.stderr);
    assert.equal(live.stdout, symbols(bundleFile));
    assert.match(live.stdout, /src\/lexer\.ts:5 lex$/m);
  });

  test('symbols of the real marked bundle name its TypeScript sources', () => {
    const table = symbols(fileURLToPath(import.meta.resolve('marked')));
    assert.match(table, /^\S+\.prototype\.lex +1 +sync +\d+ +[0-9a-f]{16} +src\/Lexer\.ts:101 lex$/m);
    assert.match(table, /^\S+ +1 +sync +\d+ +[0-9a-f]{16} +src\/defaults\.ts:6 _getDefaults$/m);
  });

  test('symbols of a file without a source map has no ORIGINAL column', () => {
    assert.match(symbols(fixture('source-maps', 'stacks.mjs')).split('\n')[1], /^SYMBOL +SYMPOS +KIND +LINE +HASH$/);
  });

  test('a patch naming lex by src/lexer.ts:5 takes effect, in a loaded bundle and in one that loads later; a wrong file or line, and an ambiguous line, are refused', async () => {
    const { stdout } = await runOk(path.join(dir, 'main.mjs'), { args: [bundleFile, 'bundle.mjs'] });
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'before: a|b| ');
    assert.match(lines[1], /^no-such-file: ERR_LP_SOURCE_NOT_FOUND: patch 'no-such-file', object 'bundle\.mjs', symbol 'src\/nope\.ts:5': no function found at that original location: no function of the module was written in a file 'src\/nope\.ts'$/);
    assert.match(lines[2], /^no-function-there: ERR_LP_SOURCE_NOT_FOUND: .*no function of \S+src\/lexer\.ts begins at line 7 \(functions begin at lines 5, 16\)$/);
    assert.match(lines[3], /^two-functions-there: ERR_LP_SOURCE_AMBIGUOUS: .*src\/lexer\.ts:16 begins \w+,1, \w+,1; name one by oldName and oldSympos$/);
    assert.deepEqual(lines.slice(4), ['patched: lex-upper', 'after: A B', 'later: C D']);
  });
});
