// livepatch build on application changes, each a fixture pair (old, new)
// under test/fixtures/build/changes: the patch it writes for each kind of
// change, loaded into a running program, and each refusal with its message.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { runOk, suiteContext } from '../helpers.js';
import { assertTypeChecks, buildChange, CHANGES, patchDir, refusals } from './support.js';

const STATE = "the module's top level ran when it loaded and does not run again: set state from a postPatch callback, or keep new state in shadow variables (docs/build.md)";
const EXPORTS = "a module's exports are bound when it loads; a patch replaces functions, not what a module exports";
const CLASS = 'a class is built when its module loads; a patch replaces the bodies of its methods only: keep new per-instance state in shadow variables (docs/shadow-vars.md)';

/** Runs a change's probe against its old version, loads the patch into that process, and runs it again. */
async function probe(name, patch) {
  const { stdout } = await runOk(path.join(CHANGES, 'run.mjs'), {
    args: [path.join(CHANGES, name), patch],
    env: { LIVEPATCH_ROOT: path.join(CHANGES, name, 'old') },
  });
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

const APPLIED = [
  {
    name: 'pure-fix',
    what: 'a pure function fix is the only function in the patch; the one an edit above moved down and reformatted is not',
    changed: ['prices.js: changed function: total'],
    before: { total: 162, count: 1 },
    after: { total: 180, count: 1 },
  },
  {
    name: 'new-helper',
    what: 'a fix that calls a new helper carries the helper and the new constant it uses',
    changed: ['slug.js: changed function: slug (carries UNSAFE, clean)'],
    before: 'hello-world:-part-2!',
    after: 'hello-world-part-2',
  },
  {
    name: 'module-state',
    what: "a fix that uses module state reaches it through the module's scope table, and updates it there",
    changed: ['counter.js: changed function: hit'],
    before: { hit: 1, bad: 1, stats: { total: 2, keys: 2 } },
    after: { hit: 2, bad: 0, stats: { total: 3, keys: 2 } },
  },
  {
    name: 'class-method',
    what: "a fixed class method runs on objects made before the patch, `this` becoming `self`",
    changed: ['cart.js: changed function: Cart.prototype.add'],
    before: { size: 1, refused: null },
    after: { size: 1, refused: 'cannot add -1 of pear' },
  },
  {
    name: 'async-function',
    what: 'a fixed async function is replaced by an async function',
    changed: ['fetch.js: changed function: load'],
    before: { first: null, second: null },
    after: { first: null, second: 'value of k2' },
  },
  {
    name: 'nested-function',
    what: 'a change to a nested function puts its enclosing function in the patch, and not its caller',
    changed: ['tags.js: changed function: normalise'],
    before: 'A,b',
    after: 'a,b',
  },
  {
    name: 'commonjs',
    what: "a CommonJS module's fix reaches its require'd modules and constants through the scope table",
    changed: ['index.js: changed function: format'],
    before: 'a b c',
    after: 'a b c (2 more)',
  },
];

describe('livepatch build on application changes', () => {
  const suite = suiteContext();
  let dir;
  before(() => {
    dir = patchDir(suite);
  });

  for (const change of APPLIED) {
    test(`${change.name}: ${change.what}`, async () => {
      const result = await buildChange(dir, change.name);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout.trimEnd().split('\n'), [...change.changed, `patch module written: ${result.out}`]);
      assert.deepEqual(await probe(change.name, result.out), [{ before: change.before }, { after: change.after }]);
    });
  }

  test('every patch built from the application changes passes tsc --strict', async () => {
    await assertTypeChecks(dir);
  });
});

const REFUSED = [
  ['statement', 'a changed top-level statement', [
    "mod.js:2: changed top-level statement `handlers.push('a', 'b');`: the module's top level ran when it loaded and does not run again: do its work from a postPatch callback (docs/callbacks.md)",
  ]],
  ['state', 'a changed initializer of module state', [`mod.js:1: changed initializer of module state 'LIMIT': ${STATE}`]],
  ['added-state', 'new module state', [`mod.js:1: added module state 'cache': ${STATE}`]],
  ['added-export', 'an added export', [`mod.js:2: added export \`export function g() { return 2; }\`: ${EXPORTS}`]],
  ['removed-export', 'a removed export', [`mod.js:2: removed export \`export function g() { return 2; }\`: ${EXPORTS}`]],
  ['renamed-export', 'a renamed export', [`mod.js:2: changed export \`export { f as first };\`: ${EXPORTS}`]],
  ['class-field', "a changed field initializer, part of the class's shape", [`mod.js:2: changed field 'A.prototype.count': ${CLASS}`]],
  ['class-method-added', 'a method added to a class', [`mod.js:3: added method 'A.prototype.dec': ${CLASS}`]],
  ['getter-method', 'a method that becomes a getter', [`mod.js:2: changed kind of method 'A.prototype.size' to getter: ${CLASS}`]],
  ['private', 'a private name in a replacement', ["mod.js:3: 'A.prototype.inc' uses a private name, which code outside its class cannot reach"]],
  ['super', 'super in a replacement', ["mod.js:3: 'A.prototype.name' uses super, which code outside its class cannot reach"]],
  ['constructor', 'a changed constructor', [
    "mod.js:2: changed constructor of 'A': a replacement cannot run as the constructor: move the change into a method the constructor calls, and keep new per-instance state in shadow variables (docs/shadow-vars.md)",
  ]],
  ['kind', 'a sync function that becomes async', [
    "mod.js:1: changed kind of 'f' from sync to async: a replacement keeps the calling convention of the function it replaces, and callers keep theirs",
  ]],
  ['generator', 'a changed sync generator', [
    "mod.js:1: changed sync generator 'ids': an iterator made before the patch runs the old body to its end, and holds the transition until it finishes: patch the functions that make and consume it",
  ]],
  ['capture', 'a variable captured from an enclosing scope its scope table does not reach', [
    "mod.js:4: 'next' captures 'prefix' from an enclosing scope other than its own (line 1): a replacement reaches only the bindings of the once-run scope it is declared in",
  ]],
  ['arity', 'more parameters than the running function forwards', [
    "mod.js:1: 'f' reads 2 parameters where the running function declares 1: its trampoline forwards only those",
  ]],
];

describe('livepatch build refuses what a function swap cannot do', () => {
  const suite = suiteContext();
  let dir;
  before(() => {
    dir = patchDir(suite);
  });

  for (const [name, what, expected] of REFUSED) {
    test(`${what}: exit 7, naming the module, the line and the construct`, async () => {
      const result = await buildChange(dir, `refuse-${name}`);
      assert.equal(result.code, 7, result.stdout + result.stderr);
      assert.match(result.stderr, /^livepatch: the change cannot be expressed as a live patch:\n/);
      assert.deepEqual(refusals(result.stderr), expected);
    });
  }

  test('a refusal in --json is ERR_LP_BUILD_REFUSED with every unsupported change in its detail', async () => {
    const result = await buildChange(dir, 'refuse-state', ['--json']);
    const { error } = JSON.parse(result.stdout);
    assert.equal(error.code, 'ERR_LP_BUILD_REFUSED');
    assert.equal(error.errno, 'EOPNOTSUPP');
    assert.equal(error.detail, `\n  mod.js:1: changed initializer of module state 'LIMIT': ${STATE}`);
  });

  test('whitespace, comments and moved lines only: no functional change, exit 8', async () => {
    const result = await buildChange(dir, 'whitespace-only', ['--json']);
    assert.equal(result.code, 8);
    assert.equal(JSON.parse(result.stdout).error.code, 'ERR_LP_BUILD_NO_CHANGE');
  });
});
