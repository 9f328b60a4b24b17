// Every engine error: triggered, coded, with a hint, and changing nothing.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { fixture, runNode, runOk, transcript } from '../helpers.js';

/** The codes the fixture's cases expect, each tried one or more times. */
const CODES = [
  'ERR_LP_ALREADY', 'ERR_LP_DUPLICATE_FUNC', 'ERR_LP_DUPLICATE_OBJECT', 'ERR_LP_FACTORY_FAILED', 'ERR_LP_HASH_MISMATCH',
  'ERR_LP_INCOMPATIBLE_STATES', 'ERR_LP_INVALID_DEFINITION', 'ERR_LP_INVALID_MODULE_ID', 'ERR_LP_INVALID_NAME',
  'ERR_LP_KIND_MISMATCH', 'ERR_LP_MISSING_NEW_FUNC', 'ERR_LP_NOT_IN_TRANSITION', 'ERR_LP_NOT_PATCHABLE',
  'ERR_LP_NO_DEFAULT_EXPORT', 'ERR_LP_NO_PATCH', 'ERR_LP_PATCH_EXISTS', 'ERR_LP_PATCH_NOT_FOUND', 'ERR_LP_PATCH_SYNTAX', 'ERR_LP_PATCH_THREW',
  'ERR_LP_SCOPE_NOT_RUN', 'ERR_LP_SHADOW_KEY',
  'ERR_LP_SYMBOL_AMBIGUOUS', 'ERR_LP_SYMBOL_NOT_FOUND', 'ERR_LP_SYMPOS_NOT_FOUND',
];

// One run of the fixture tries every case, each recorded as `CODE[i]`.
describe('each bad definition or request fails with its code and leaves everything unchanged', () => {
  let cases;
  let results;
  let log;
  before(async () => {
    const { stdout, stderr } = await runOk(fixture('errors', 'main.js'));
    cases = JSON.parse(stdout);
    results = Object.fromEntries(Object.entries(cases).map(([key, c]) => [key, `${c.errno}: ${c.message}`]));
    log = transcript(stderr);
  });

  test('the fixture tries every code', () => {
    const codes = new Set(Object.keys(cases).map((k) => k.replace(/\[\d+\]$/, '')));
    assert.deepEqual([...codes].sort(), CODES);
  });

  for (const code of CODES) {
    test(`${code}: each case fails with it, has an errno and a hint, and changes nothing`, () => {
      const attempts = Object.entries(cases).filter(([key]) => key.replace(/\[\d+\]$/, '') === code);
      assert.ok(attempts.length > 0, `no case of ${code}`);
      for (const [key, c] of attempts) {
        assert.ok(c.failed, `${key} did not fail`);
        assert.equal(c.code, code, `${key}: ${c.message}`);
        assert.ok(c.errno && c.hint, `${key} has an errno and a hint`);
        assert.equal(c.changed, null, `${key} changed something`);
      }
    });
  }

  // Messages name the patch, the object and the symbol.
  test('a symbol not found: the message names the patch, the object and the symbol', () => {
    assert.equal(results['ERR_LP_SYMBOL_NOT_FOUND[0]'], "EINVAL: patch 'bad', object 'target.js', symbol 'pong': symbol not found in symbol table");
  });

  test('a symbol not found that qualified symbols end in: the message names them', () => {
    assert.equal(results['ERR_LP_SYMBOL_NOT_FOUND[1]'], "EINVAL: patch 'bad', object 'target.js', symbol 'dup': symbol not found in symbol table (did you mean 'helpers.dup' or 'other.dup'?)");
  });

  test("an ambiguous symbol: the message gives each candidate's sympos and line", () => {
    assert.match(results['ERR_LP_SYMBOL_AMBIGUOUS[0]'], /symbol 'twice': unresolvable ambiguity: 2 symbols share the name \(sympos 1 at line 9, sympos 2 at line 11\)/);
  });

  test('a class constructor: the message says why it cannot be patched', () => {
    assert.match(results['ERR_LP_NOT_PATCHABLE[0]'], /symbol 'Widget': cannot be patched: class constructors cannot be patched/);
  });

  test('a hash mismatch: the message gives both hashes', () => {
    assert.match(results['ERR_LP_HASH_MISMATCH[0]'], /built for [0-9a-f]{16}, running [0-9a-f]{16}/);
  });

  test('a withScope factory that throws: the message carries its error', () => {
    assert.equal(results['ERR_LP_FACTORY_FAILED[0]'], "EINVAL: patch 'bad', object 'target.js', symbol 'ping': the withScope factory threw: no scope for me");
  });

  test('a scope that has not run yet: the message names the instance still loading', () => {
    assert.match(results['ERR_LP_SCOPE_NOT_RUN[0]'], /^EAGAIN: patch 'bad', object 'loading.js', symbol 'later': the scope the function is declared in has not run yet: instance 1 \(.*loading\.js\) is still loading$/);
  });

  test('a patch file that is not there, or that a patch imports and is not there: each named, with its importer', () => {
    assert.match(results['ERR_LP_PATCH_NOT_FOUND[0]'], /^ENOENT: no patch file \/.*\/errors\/missing-patch\.ts$/);
    assert.match(results['ERR_LP_PATCH_NOT_FOUND[1]'], /^ENOENT: no patch file \/.*\/errors\/helpers\/missing\.js, imported by \/.*\/errors\/imports-missing\.js$/);
  });

  test('a syntax error names the file and the line, in JavaScript and in TypeScript', () => {
    assert.match(results['ERR_LP_PATCH_SYNTAX[0]'], /^ENOEXEC: syntax error in patch module \/.*\/errors\/broken\.ts:1: /);
    assert.match(results['ERR_LP_PATCH_SYNTAX[1]'], /^ENOEXEC: syntax error in patch module \/.*\/errors\/syntax-error\.js:3:55: Expected '}'$/);
  });

  test('a top level that throws: what it threw and on which line, in JavaScript or TypeScript, or that it threw null', () => {
    assert.match(results['ERR_LP_PATCH_THREW[0]'], /^ENOEXEC: patch module \/.*\/errors\/throws\.js: its top level threw at line 4: no database connection$/);
    assert.match(results['ERR_LP_PATCH_THREW[1]'], /^ENOEXEC: patch module \/.*\/errors\/throws-null\.js: its top level threw: null$/);
    assert.match(results['ERR_LP_PATCH_THREW[2]'], /^ENOEXEC: patch module \/.*\/errors\/throws\.ts: its top level threw at line 4: no limit configured$/);
  });

  test('a patch module without a default export: what it exports instead', () => {
    assert.match(results['ERR_LP_NO_DEFAULT_EXPORT[0]'], /^ENOEXEC: patch module \/.*\/errors\/no-default\.ts: it has no default export \(it exports name\)$/);
  });

  test('a shadow key that is not an integer: the message names it', () => {
    assert.equal(results['ERR_LP_SHADOW_KEY[1]'], 'EINVAL: invalid shadow variable key: the id 1.5 is not an integer');
  });

  test("the kernel's pr_err lines, and nothing logged for the cases the kernel is silent about", () => {
    assert.deepEqual(log, [
      "livepatch: enabling patch 'baseline'",
      "livepatch: 'baseline': initializing patching transition",
      "livepatch: 'baseline': starting patching transition",
      "livepatch: 'baseline': completing patching transition",
      "livepatch: 'baseline': patching complete",
      "livepatch: symbol 'pong' not found in symbol table",
    "livepatch: symbol 'dup' not found in symbol table",
      "livepatch: unresolvable ambiguity for symbol 'twice' in object 'target.js'",
      "livepatch: symbol position 3 for symbol 'twice' in object 'target.js' not found",
      'livepatch: Livepatch patch (bad) is not compatible with the already installed livepatches.',
      'livepatch: Livepatch patch (bad) is not compatible with the already installed livepatches.',
    ]);
  });
});

test('a process not started under livepatch refuses patches (ENODEV)', async () => {
  const { stdout } = await runNode(fixture('errors', 'not-livepatch.js'), { register: false });
  assert.deepEqual(stdout.trim().split('\n'), [
    'ERR_LP_NOT_LIVEPATCH ENODEV: this process was not started under livepatch',
    'ERR_LP_NOT_LIVEPATCH ENODEV: this process was not started under livepatch',
  ]);
});
