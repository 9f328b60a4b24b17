// Property-based test of the consistency guarantees (fast-check, fixed
// seed): random programs of tasks, awaits, nested calls of patched
// functions, enable / disable / replace / reverse. The oracle is in
// test/fixtures/property/oracle.js. A failure prints the seed, the path and
// the command that replays it.
//
// The last test shows the property can fail: it runs it against copies of
// the built engine with one deliberate bug each, and requires a failure.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { fixture, ROOT, runNode } from '../helpers.js';

const RUNS = '400';

for (const mode of ['per-task', 'global']) {
  test(`${mode}: the guarantees hold on ${RUNS} random programs`, async () => {
    const { code, stdout } = await runNode(fixture('property', 'run.js'), { env: { LIVEPATCH_CONSISTENCY: mode, LP_PROP_RUNS: RUNS, LIVEPATCH_DEBUG: '0' } });
    assert.equal(code, 0, stdout);
    const m = /property ok: (\d+) runs, seed \d+; calls checked: (\d+) against a transition's two views/.exec(stdout);
    assert.ok(m, stdout);
    assert.equal(m[1], RUNS);
    assert.ok(Number(m[2]) > 1000, `the programs exercise transitions: ${m[2]} calls checked against both views`);
  });
}

// Each bug is a text replacement in the built engine; the snippet must occur
// exactly once in dist/ (which is bundled, so the file is found by content).
const SABOTAGE = [
  ['the handler ignores the task state', 'if (state === UNPATCHED) {', 'if (false) {'],
  ['the stack check ignores live frames', 'if (task.frames(counter) > 0) {', 'if (false) {'],
  ['a completed replace keeps the replaced patches', 'unpatchReplacedPatches(patch);', ''],
  ['a task holding frames at start is switched without a check', 'if (task.liveFrames > 0 && task.gen !== gen)', 'if (false)'],
  ['a nop on top runs the version below', 'return e.func.nop ? NOP : e.impl(self${list});', 'return e.func.nop && stack[1] ? stack[1].impl(self${list}) : e.func.nop ? NOP : e.impl(self${list});'],
];

const jsFiles = (dir) => fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => path.join(dir, f));

test('the property fails on an engine with a consistency bug', async (t) => {
  for (const [bug, from, to] of SABOTAGE) {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-sabotage-'));
    t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    const targets = jsFiles(path.join(copy, 'dist')).filter((f) => fs.readFileSync(f, 'utf8').split(from).length === 2);
    assert.equal(targets.length, 1, `${bug}: the code to sabotage is still there, once`);
    const source = fs.readFileSync(targets[0], 'utf8');
    fs.writeFileSync(targets[0], source.replace(from, to));
    const { code, stdout } = await runNode(fixture('property', 'run.js'), {
      nodeArgs: ['--import', path.join(copy, 'dist', 'startup', 'register.js')], register: false,
      env: { LP_PROP_RUNS: RUNS, LP_PROP_SHRINK: '0', LIVEPATCH_DEBUG: '0' },
    });
    assert.equal(code, 1, `${bug}: the property should fail\n${stdout}`);
    assert.match(stdout, /property failed: seed \d+, path \S+\nreplay: LP_PROP_SEED=/, bug);
  }
});
