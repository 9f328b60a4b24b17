// Start-up under livepatch: nothing printed but the program's own output,
// on every supported Node version, and worker threads that get the same
// hooks as the program that starts them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { CLI, collect, fixture, REGISTER, runOk } from '../helpers.js';

test(`node --import livepatch/register -e 0 prints nothing on Node ${process.version}`, async () => {
  const result = await collect(process.execPath, ['--import', REGISTER, '-e', '0'], { env: { ...process.env, LIVEPATCH_CACHE: '0' } });
  assert.deepEqual(result, { code: 0, signal: null, stdout: '', stderr: '' });
});

test(`livepatch run app.js prints the program's output and nothing else on Node ${process.version}`, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-quiet-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"quiet"}');
  fs.writeFileSync(path.join(dir, 'app.js'), 'const { sum } = require("./lib.js");\nconsole.log(sum(2, 3));\nconsole.error("the program\'s own stderr");\n');
  fs.writeFileSync(path.join(dir, 'lib.js'), 'exports.sum = function (a, b) { return a + b; };\n');
  const result = await collect(process.execPath, [CLI, 'run', path.join(dir, 'app.js')], { cwd: dir, env: { ...process.env, LIVEPATCH_CACHE: '0' } });
  assert.deepEqual(result, { code: 0, signal: null, stdout: '5\n', stderr: "the program's own stderr\n" });
});

test('a worker thread of an instrumented program is instrumented, and a patch it loads applies to its own instances', async () => {
  const { stdout } = await runOk(fixture('workers', 'main.js'), { env: { LIVEPATCH_DEBUG: '0' } });
  assert.deepEqual(JSON.parse(stdout), { modules: ['thread.js', 'work.js'], before: 9, after: 27, main: 9 });
});
