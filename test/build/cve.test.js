// Real fixes of security advisories in npm packages, each a fixture pair
// under test/fixtures/build/cve/<package>: the vulnerable version installed
// in node_modules, and the fixed version in fixed/. `livepatch build
// --package` builds the patch from the two; the patch loads into a running
// program, where the advisory's exploit works before it and not after, and
// the package's normal behaviour is the same. Where the package ships its
// tests (qs, minimist), they pass with the patch enabled: the vulnerable
// version's, and the fixed version's, whose new tests fail without it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { ROOT, runNode, runOk, suiteContext } from '../helpers.js';
import { assertTypeChecks, build, buildOk, CVE, patchDir, refusals } from './support.js';

const ADVISORIES = [
  { pkg: 'qs', advisory: 'CVE-2022-24999', versions: '6.7.2 to 6.7.3', changed: ['qs/lib/parse.js: changed function: parseObject', 'qs/lib/stringify.js: changed function: stringify (carries split)', 'qs/lib/stringify.js: changed function: normalizeStringifyOptions'] },
  { pkg: 'minimist', advisory: 'CVE-2021-44906', versions: '1.2.5 to 1.2.6', changed: ['minimist/index.js: changed function: module.exports (carries isConstructorOrProto)'] },
  { pkg: 'ini', advisory: 'CVE-2020-7788', versions: '1.3.5 to 1.3.6', changed: ['ini/ini.js: changed function: decode'] },
  { pkg: 'json5', advisory: 'CVE-2022-46175', versions: '2.2.1 to 2.2.2', changed: ['json5/lib/parse.js: changed function: internalize', 'json5/lib/parse.js: changed function: push'] },
  { pkg: 'dot-prop', advisory: 'CVE-2020-8116', versions: '4.2.0 to 4.2.1', changed: ['dot-prop/index.js: changed function: getPathSegments (carries disallowedKeys, isValidPath)', 'dot-prop/index.js: changed function: module.exports.get', 'dot-prop/index.js: changed function: module.exports.set'] },
];

/** The package tests, run with NODE_PATH so that a copy outside the repository finds tape. */
function packageTests(patch, files) {
  return runNode(path.join(CVE, 'package-tests.mjs'), { args: [patch, ...files], env: { NODE_PATH: path.join(ROOT, 'node_modules') }, timeout: 120_000 });
}

describe('livepatch build --package on real security fixes', () => {
  const suite = suiteContext();
  let dir;
  before(() => {
    dir = patchDir(suite);
  });
  const patchOf = (pkg) => path.join(dir, `fix-${pkg}.ts`);

  for (const { pkg, advisory, versions, changed } of ADVISORIES) {
    test(`${advisory}, ${pkg} ${versions}: --package builds the patch from the installed and the fixed version`, async () => {
      const { stdout } = await buildOk(['--package', pkg, '--to', path.join(CVE, pkg, 'fixed'), '--root', path.join(CVE, pkg)], patchOf(pkg));
      assert.deepEqual(stdout.trimEnd().split('\n'), [...changed, `patch module written: ${patchOf(pkg)}`]);
    });

    test(`${advisory}, ${pkg}: the exploit works before the patch and not after it, in one running program; normal use is unchanged`, async () => {
      const { stdout } = await runOk(path.join(CVE, 'probe.mjs'), { args: [path.join(CVE, pkg), patchOf(pkg)] });
      const [{ before: was }, { after: now }] = stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.equal(was.exploited, true);
      assert.equal(now.exploited, false);
      assert.deepEqual(now.normal, was.normal);
    });
  }

  test('every patch built from the security fixes passes tsc --strict', async () => {
    await assertTypeChecks(dir);
  });

  for (const pkg of ['qs', 'minimist']) {
    test(`${pkg}: the tests the vulnerable version ships pass with the patch enabled`, async () => {
      const own = path.join(CVE, pkg, 'node_modules', pkg, 'test');
      const result = await packageTests(patchOf(pkg), fs.readdirSync(own).filter((f) => f.endsWith('.js')).map((f) => path.join(own, f)));
      assert.equal(result.code, 0, result.stdout.split('\n').filter((l) => l.startsWith('not ok')).join('\n') + result.stderr);
      assert.match(result.stdout, /^# fail {2}0$|^# pass {2}\d+$/m);
    });

    test(`${pkg}: the fixed version's tests fail on the vulnerable code, and pass on it patched`, async (t) => {
      // The fixed version's tests, against the vulnerable code: a copy of it with the fixed test/.
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), `lp-${pkg}-`));
      t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
      const installed = path.join(copy, 'node_modules', pkg);
      fs.cpSync(path.join(CVE, pkg, 'node_modules', pkg), installed, { recursive: true });
      fs.rmSync(path.join(installed, 'test'), { recursive: true });
      fs.cpSync(path.join(CVE, pkg, 'fixed', 'test'), path.join(installed, 'test'), { recursive: true });
      const files = fs.readdirSync(path.join(installed, 'test')).filter((f) => f.endsWith('.js')).map((f) => path.join(installed, 'test', f));
      const unpatched = await packageTests('-', files);
      assert.notEqual(unpatched.code, 0, 'the fixed version adds tests that the vulnerable one fails');
      const patched = await packageTests(patchOf(pkg), files);
      assert.equal(patched.code, 0, patched.stdout.split('\n').filter((l) => l.startsWith('not ok')).join('\n') + patched.stderr);
    });
  }
});

describe('path-to-regexp 0.1.7 to 0.1.10 (CVE-2024-45296): a fix that renames its export and changes module state', () => {
  const suite = suiteContext();
  let dir;
  before(() => {
    dir = patchDir(suite);
  });
  const PTR = path.join(CVE, 'path-to-regexp');

  test('the release is refused: its export and a module-level regular expression changed', async () => {
    const result = await build(['--package', 'path-to-regexp', '--to', path.join(PTR, 'fixed'), '--root', PTR, '-o', path.join(dir, 'x.ts')]);
    assert.equal(result.code, 7);
    assert.deepEqual(refusals(result.stderr), [
      "path-to-regexp/index.js:5: changed export `module.exports = pathToRegexp;`: a module's exports are bound when it loads; a patch replaces functions, not what a module exports",
      "path-to-regexp/index.js:10: changed initializer of module state 'MATCHING_GROUP_REGEXP': the module's top level ran when it loaded and does not run again: set state from a postPatch callback, or keep new state in shadow variables (docs/build.md)",
    ]);
  });

  test('the release rewritten for a live patch (the old names kept, the new expression under a new name) builds, and the patched module makes what 0.1.10 makes', async () => {
    const out = path.join(dir, 'fix-path-to-regexp.ts');
    const { stdout } = await buildOk(['--package', 'path-to-regexp', '--to', path.join(PTR, 'fixed-livepatch'), '--root', PTR], out);
    assert.deepEqual(stdout.trimEnd().split('\n'), [
      'path-to-regexp/index.js: changed function: pathtoRegexp (carries ESCAPED_MATCHING_GROUP_REGEXP)',
      `patch module written: ${out}`,
    ]);
    const { stdout: made } = await runOk(path.join(CVE, 'probe.mjs'), { args: [PTR, out] });
    const [{ before: was }, { after: now }] = made.trim().split('\n').map((line) => JSON.parse(line));
    const fixed = (await import(path.join(PTR, 'exploit.js'))).expected();
    assert.notDeepEqual(was.normal, fixed);
    assert.deepEqual(now.normal, fixed);
    await assertTypeChecks(dir);
  });
});

