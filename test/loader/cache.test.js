// The transform cache: a cold start writes one entry per instrumented
// module, a warm start reads it instead of instrumenting again, a changed
// source misses, and an unwritable cache only costs speed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { runOk, suiteContext } from '../helpers.js';

function app(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"cache-app","type":"module"}');
  fs.writeFileSync(path.join(dir, 'lib.js'), 'export function value() { return "from source"; }\n');
  fs.writeFileSync(path.join(dir, 'dep.cjs'), 'exports.n = function () { return 1; };\n');
  fs.writeFileSync(path.join(dir, 'main.js'), 'import { value } from "./lib.js";\nimport dep from "./dep.cjs";\nconsole.log(value(), dep.n());\n');
  return dir;
}

const entries = (cache) => (fs.existsSync(cache) ? fs.readdirSync(cache).filter((f) => f.endsWith('.lp')).sort() : []);

// One application and its cache: a cold start, a warm start, then an edit;
// the tests run in that order, each on the cache the one before left.
describe('one application started cold, warm, and after an edit', () => {
  const suite = suiteContext();
  let dir;
  let cache;
  let env;
  let cold;
  before(() => {
    dir = app(suite);
    cache = path.join(dir, 'cache');
    env = { LIVEPATCH_CACHE: cache };
  });

  test('a cold start writes one entry per instrumented module', async () => {
    assert.equal((await runOk(path.join(dir, 'main.js'), { env })).stdout.trim(), 'from source 1');
    cold = entries(cache);
    assert.equal(cold.length, 3, 'main.js, lib.js and dep.cjs');
  });

  test('a warm start runs the cached code, and writes nothing', async () => {
    // Prove the warm start uses the entry: alter the cached code of lib.js.
    const libEntry = cold.map((f) => path.join(cache, f)).find((f) => fs.readFileSync(f, 'utf8').includes('"from source"'));
    fs.writeFileSync(libEntry, fs.readFileSync(libEntry, 'utf8').replace('"from source"', '"from cache"'));
    assert.equal((await runOk(path.join(dir, 'main.js'), { env })).stdout.trim(), 'from cache 1');
    assert.deepEqual(entries(cache), cold, 'no new entries on a warm start');
  });

  test('a changed source is a miss: a new entry, the new code', async () => {
    fs.writeFileSync(path.join(dir, 'lib.js'), 'export function value() { return "edited"; }\n');
    assert.equal((await runOk(path.join(dir, 'main.js'), { env })).stdout.trim(), 'edited 1');
    assert.equal(entries(cache).length, 4);
  });
});

test('an unwritable cache directory does not break the program', async (t) => {
  const dir = app(t);
  const blocker = path.join(dir, 'not-a-dir');
  fs.writeFileSync(blocker, '');
  const { stdout } = await runOk(path.join(dir, 'main.js'), { env: { LIVEPATCH_CACHE: path.join(blocker, 'cache') } });
  assert.equal(stdout.trim(), 'from source 1');
});
