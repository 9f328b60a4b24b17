// The short subset of the peer suites CI runs (scripts/peer-suites.js):
// qs's own tape suite, plain and under livepatch, gives the same pass and
// fail counts, and every process of the livepatch run was instrumented.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { collect, ROOT } from './helpers.js';

test('qs\'s suite passes the same under livepatch, in instrumented processes only', async () => {
  const { code, stdout, stderr } = await collect(process.execPath, [path.join(ROOT, 'scripts', 'peer-suites.js'), '--suites', 'qs', '--json'], { cwd: ROOT });
  assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
  const [qs] = JSON.parse(stdout).results;
  assert.equal(qs.ran, true);
  assert.ok(qs.plain.passed > 0);
  assert.deepEqual(qs.livepatch, qs.plain);
  assert.ok(qs.processes > 0);
  assert.deepEqual(qs.uninstrumented, []);
  assert.equal(qs.ok, true);
});

test('an unknown suite is a usage error that names the suites', async () => {
  const { code, stderr } = await collect(process.execPath, [path.join(ROOT, 'scripts', 'peer-suites.js'), '--suites', 'nope'], { cwd: ROOT });
  assert.equal(code, 2);
  assert.match(stderr, /^unknown suite\(s\): nope \(the suites are qs, express, /);
});
