// livepatch check and build --verify against a real process: a patch built
// for the code it runs resolves; one built for other code, or naming a
// symbol the module does not have, is reported with the refusal a load
// would meet; nothing is enabled either way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext } from '../helpers.js';
import { cli, cliJson, get, LIMIT, runtimeDir, startApp } from '../control/support.js';
import { build, buildChange, CHANGES, patchDir } from './support.js';

const PURE = path.join(CHANGES, 'pure-fix');

describe('livepatch check against a running program', () => {
  const suite = suiteContext();
  let dir;
  let rt;
  let app;
  before(async () => {
    dir = patchDir(suite);
    rt = runtimeDir(suite);
    // startApp runs a script with the directory of the script as its cwd; serve.mjs takes the case as its argument.
    const script = path.join(dir, 'serve-pure-fix.mjs');
    fs.writeFileSync(script, `process.argv[2] = ${JSON.stringify(PURE)};\nawait import(${JSON.stringify(path.join(CHANGES, 'serve.mjs'))});\n`);
    app = await startApp(suite, rt, { script, env: { LIVEPATCH_ROOT: path.join(PURE, 'old') } });
  }, LIMIT);

  test('a patch built for the running code resolves: each function with the hash it runs, and nothing is enabled', LIMIT, async () => {
    const { out } = await buildChange(dir, 'pure-fix', ['--name', 'fix-total']);
    const result = await cli(['check', out, '-p', String(app.pid)], { dir: rt });
    assert.equal(result.code, 0, result.stderr);
    const hash = /oldHash: '([0-9a-f]{16})'/.exec(fs.readFileSync(out, 'utf8'))[1];
    assert.deepEqual(result.stdout.trimEnd().split('\n').map((l) => l.trimEnd()), [
      "patch 'fix-total', replace: replaces no patch",
      'prices.js: 1 instance',
      '  FUNCTION  HASH              RESULT',
      `  total,1   ${hash}  ok`,
    ]);
    assert.deepEqual((await cliJson(['list', '-p', String(app.pid)], { dir: rt })).patches, []);
    assert.deepEqual(JSON.parse(await get(app.port, '/')), { total: 162, count: 1 });
  });

  test('a patch built for other code is reported with the hash mismatch a load would refuse it with', LIMIT, async () => {
    const out = path.join(dir, 'reverse.ts');
    const built = await build(['--old', path.join(PURE, 'new'), '--new', path.join(PURE, 'old'), '-o', out]);
    assert.equal(built.code, 0, built.stderr);
    const result = await cli(['check', out, '-p', String(app.pid)], { dir: rt });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^ {2}total,1 +51ddd854a9ebcd14 +ERR_LP_HASH_MISMATCH: patch 'reverse', object 'prices\.js', symbol 'total': the running function is not the one the patch was built for: built for [0-9a-f]{16}, running [0-9a-f]{16}/m);
    assert.match(result.stderr, /^livepatch: patch 'reverse': the process would refuse the patch: 1 refusal, the first: ERR_LP_HASH_MISMATCH\n/);
    const { errors } = JSON.parse((await cli(['check', out, '-p', String(app.pid), '--json'], { dir: rt })).stdout).objects[0].funcs[0];
    assert.equal(errors[0].code, 'ERR_LP_HASH_MISMATCH');
  });

  test('a symbol the module does not have is reported as not found, and the check is ERR_LP_CHECK_REFUSED', LIMIT, async () => {
    const out = path.join(dir, 'unknown.ts');
    fs.writeFileSync(out, "import { definePatch } from 'livepatch';\nexport default definePatch({ name: 'unknown', objects: [{ module: 'prices.js', funcs: [{ oldName: 'subtotal', newFunc: () => 0 }] }] });\n");
    const json = await cli(['check', out, '-p', String(app.pid), '--json'], { dir: rt });
    assert.equal(json.code, 1);
    const check = JSON.parse(json.stdout);
    assert.equal(check.objects[0].funcs[0].errors[0].code, 'ERR_LP_SYMBOL_NOT_FOUND');
    assert.equal(check.error.code, 'ERR_LP_CHECK_REFUSED');
    const human = await cli(['check', out, '-p', String(app.pid)], { dir: rt });
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^ {2}subtotal,1 +- +ERR_LP_SYMBOL_NOT_FOUND: /m);
    assert.match(human.stderr, /^livepatch: patch 'unknown': the process would refuse the patch: 1 refusal, the first: ERR_LP_SYMBOL_NOT_FOUND\n/);
    assert.deepEqual((await cliJson(['list', '-p', String(app.pid)], { dir: rt })).patches, []);
  });

  test('build --verify builds the patch and checks it against the process', LIMIT, async () => {
    const out = path.join(dir, 'verified.ts');
    const result = await build(['--old', path.join(PURE, 'old'), '--new', path.join(PURE, 'new'), '-o', out, '--verify', '-p', String(app.pid)], { env: { LIVEPATCH_RUNTIME_DIR: rt } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trimEnd().split('\n').slice(0, 4), [
      'prices.js: changed function: total',
      `patch module written: ${out}`,
      "patch 'verified', replace: replaces no patch",
      'prices.js: 1 instance',
    ]);
  });
});
