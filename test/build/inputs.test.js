// The ways to give livepatch build its two versions (a diff applied to a
// copy of the program, two git revisions, a package tarball), the options
// that shape the patch (--no-replace, --base, --show-first-changed), and
// the errors of each input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext } from '../helpers.js';
import { assertTypeChecks, build, buildChange, buildOk, CHANGES, CVE, patchDir } from './support.js';

const PURE = path.join(CHANGES, 'pure-fix');

/** A scratch directory removed when the test ends. */
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-input-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A git repository whose two commits are pure-fix's old and new trees. */
function repository(t) {
  const repo = scratch(t);
  const git = (...args) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, stdio: 'pipe' });
  git('init', '-q');
  fs.cpSync(path.join(PURE, 'old'), repo, { recursive: true });
  git('add', '.');
  git('commit', '-q', '-m', 'old');
  fs.cpSync(path.join(PURE, 'new'), repo, { recursive: true });
  git('commit', '-q', '-am', 'new');
  return repo;
}

describe('livepatch build inputs', () => {
  const suite = suiteContext();
  let dir;
  before(() => {
    dir = patchDir(suite);
  });

  test('--diff applies a unified diff to a copy of the program at --root and builds from the two', async () => {
    const out = path.join(dir, 'from-diff.ts');
    const { stdout } = await buildOk(['--diff', path.join(CHANGES, 'pure-fix.patch'), '--root', path.join(PURE, 'old')], out);
    assert.deepEqual(stdout.trimEnd().split('\n'), ['prices.js: changed function: total', `patch module written: ${out}`]);
    assert.equal(fs.readFileSync(path.join(PURE, 'old', 'prices.js'), 'utf8').includes('The discount applies once'), false, 'the program is left as it was');
  });

  test('--git A..B builds from two revisions of the program, and one revision from it and its parent', async (t) => {
    const repo = repository(t);
    const range = await buildOk(['--git', 'HEAD~1..HEAD', '--name', 'fix'], path.join(dir, 'from-range.ts'), { cwd: repo });
    const single = await buildOk(['--git', 'HEAD', '--name', 'fix'], path.join(dir, 'from-commit.ts'), { cwd: repo });
    assert.equal(range.text.split('\n').slice(1).join('\n'), single.text.split('\n').slice(1).join('\n'));
    assert.match(range.text, /oldName: 'total'/);
    assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' }), '', 'the repository is left as it was');
  });

  test('--package --to <tarball> reads an npm pack tarball of the fixed version', async (t) => {
    const packed = scratch(t);
    execFileSync('npm', ['pack', path.join(CVE, 'ini', 'fixed'), '--pack-destination', packed], { stdio: 'pipe' });
    const tarball = path.join(packed, 'ini-1.3.6.tgz');
    const out = path.join(dir, 'from-tarball.ts');
    const { stdout } = await buildOk(['--package', 'ini', '--to', tarball, '--root', path.join(CVE, 'ini')], out);
    assert.deepEqual(stdout.trimEnd().split('\n'), ['ini/ini.js: changed function: decode', `patch module written: ${out}`]);
  });

  test('the patch replaces atomically by default; --no-replace builds one that stacks', async () => {
    const replacing = await buildChange(dir, 'nested-function');
    const stacking = await buildChange(dir, 'async-function', ['--no-replace', '--name', 'stacks']);
    assert.match(fs.readFileSync(replacing.out, 'utf8'), /\n {2}replace: true,\n/);
    const text = fs.readFileSync(stacking.out, 'utf8');
    assert.match(text, /\n {2}name: 'stacks',\n {2}objects: \[/);
  });

  test('--base carries the funcs of a patch already applied into the new one, which replaces it', async () => {
    const first = await buildChange(dir, 'pure-fix', ['--name', 'fix-1']);
    const second = await buildChange(dir, 'class-method', ['--name', 'fix-2', '--base', first.out]);
    assert.equal(second.code, 0, second.stderr);
    const text = fs.readFileSync(second.out, 'utf8');
    assert.deepEqual([...text.matchAll(/module: '([^']+)'/g)].map((m) => m[1]), ['prices.js', 'cart.js']);
    assert.deepEqual([...text.matchAll(/oldName: '([^']+)'/g)].map((m) => m[1]), ['total', 'Cart.prototype.add']);
    assert.match(text, /\n {2}name: 'fix-2',\n {2}replace: true,\n/);
    await assertTypeChecks(dir);
  });

  test('--show-first-changed prints where each changed function first differs', async () => {
    const result = await buildChange(dir, 'pure-fix', ['--show-first-changed']);
    assert.deepEqual(result.stdout.trimEnd().split('\n').slice(0, 2), [
      'prices.js: changed function: total',
      "  first change at 'sum' (line 12), was 'applyDiscount' (line 10)",
    ]);
  });
});

describe('livepatch build input errors', () => {
  const suite = suiteContext();
  let dir;
  before(() => {
    dir = patchDir(suite);
  });
  const json = async (args, options) => {
    const result = await build([...args, '-o', path.join(dir, 'x.ts'), '--json'], options);
    return { code: result.code, error: JSON.parse(result.stdout).error };
  };

  test('a diff that does not apply to the program is ERR_LP_BUILD_DIFF, and nothing is built', async () => {
    const { code, error } = await json(['--diff', path.join(CHANGES, 'pure-fix.patch'), '--root', path.join(CHANGES, 'nested-function', 'old')]);
    assert.equal(code, 1);
    assert.equal(error.code, 'ERR_LP_BUILD_DIFF');
    assert.match(error.message, /prices\.js is not in /);
  });

  test('a revision git does not know is ERR_LP_BUILD_GIT', async (t) => {
    const { code, error } = await json(['--git', 'no-such-rev..HEAD'], { cwd: repository(t) });
    assert.equal(code, 1);
    assert.equal(error.code, 'ERR_LP_BUILD_GIT');
  });

  test('a package the program does not have installed is ERR_LP_BUILD_PACKAGE', async () => {
    const { error } = await json(['--package', 'left-pad', '--to', '1.3.0', '--root', path.join(CVE, 'ini')]);
    assert.equal(error.code, 'ERR_LP_BUILD_PACKAGE');
    assert.match(error.message, /'left-pad' is not installed for /);
  });

  test('a version that does not parse is ERR_LP_BUILD_PARSE, naming the module', async (t) => {
    const tree = scratch(t);
    fs.cpSync(path.join(PURE, 'new'), tree, { recursive: true });
    fs.appendFileSync(path.join(tree, 'prices.js'), 'export function broken( {\n');
    const { error } = await json(['--old', path.join(PURE, 'old'), '--new', tree]);
    assert.equal(error.code, 'ERR_LP_BUILD_PARSE');
    assert.match(error.message, /^cannot parse prices\.js: /);
  });

  test('a base whose default export is not a definePatch object literal is ERR_LP_BUILD_BASE', async (t) => {
    const base = path.join(scratch(t), 'base.ts');
    fs.writeFileSync(base, "import { definePatch } from 'livepatch';\nconst patch = definePatch({ name: 'x', objects: [] });\nexport default patch;\n");
    const { error } = await json(['--old', path.join(PURE, 'old'), '--new', path.join(PURE, 'new'), '--base', base]);
    assert.equal(error.code, 'ERR_LP_BUILD_BASE');
    assert.match(error.message, /base\.ts:3: its default export is not definePatch\(\{ … \}\) with an object literal$/);
  });
});
