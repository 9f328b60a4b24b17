// `livepatch demo --quick`: the main job, in CI's short mode. It must pass
// its own checks (it exits non-zero on any consistency violation, failed
// request or lost state) and report every figure the issue asks for.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { CLI, ROOT } from './helpers.js';

// One run of the demo; each test reads its part of the report.
describe('the demo fixes the shop live with no violation, failure or lost state, and compares a restart', () => {
  let result;
  let out;
  before(() => {
    result = spawnSync(process.execPath, [CLI, 'demo', '--quick'], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
    out = result.stdout;
  });

  test('the demo passes its own checks', () => {
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  });

  test("the operator's commands are run for real", () => {
    assert.match(out, /^\$ livepatch load demo\/patches\/fix-1\.ts -p \d+$/m);
    assert.match(out, /^\$ livepatch load demo\/patches\/fix-2\.ts -p \d+$/m);
    assert.match(out, /^\$ livepatch unload fix-2 -p \d+$/m);
  });

  test('every phase serves requests and fails none', () => {
    // Per phase: requests served and failed, and responses by code version.
    for (const phase of ['baseline', 'fix-1', 'fix-2 \\(replace\\)', 'unloaded']) {
      assert.match(out, new RegExp(`^  ${phase}\\s+[\\d,]+\\s+0\\s+\\d+\\s+\\S`, 'm'), phase);
    }
  });

  test('each fix serves responses in its own phase', () => {
    assert.match(out, /^  fix-1 .*fix-1 [\d,]+/m, 'fix-1 served responses in its phase');
    assert.match(out, /^  fix-2 \(replace\) .*fix-2 [\d,]+/m);
  });

  test('the transition times are reported', () => {
    assert.match(out, /^  load fix-1\s+[\d,]+ ms$/m, 'transition times');
  });

  test('no consistency violation', () => {
    assert.match(out, /^Consistency violations: 0$/m);
  });

  test('no in-memory state is lost', () => {
    assert.match(out, /^In-memory state: .* all as the load generator made them$/m);
  });

  test('compared with a restart: no failed request', () => {
    assert.match(out, /^  failed requests\s+0\s+\d+$/m, 'side by side with the restart');
  });

  test('compared with a restart: how soon new requests get the new code', () => {
    assert.match(out, /^  new requests on the new code after\s+[\d,]+ ms\s+[\d,]+ ms$/m);
  });

  test('compared with a restart: how soon the old code is gone', () => {
    assert.match(out, /^  old code gone after\s+[\d,]+ ms\s+[\d,]+ ms$/m);
  });

  test('compared with a restart: every cart is kept', () => {
    assert.match(out, /^  carts kept\s+(\d+)\/\1\s+\d+\/\d+ \(\d+ before the reload\)$/m);
  });

  test('the result line says every response was checked and nothing went wrong', () => {
    assert.match(out, /^Result: every response checked, no consistency violation, no failed request, no state lost\.$/m);
  });
});
