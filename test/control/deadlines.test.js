// Every request the CLI makes has a deadline, and `--wait` bounds load and
// unload: a patch whose top level never finishes, or a process that is
// stopped, ends the command in time with a coded error, and the process
// does not act on a request after its deadline.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { sleep } from '../helpers.js';
import { APP_ROOT, cliJson, get, hold, LIMIT, patch, raw, runtimeDir, startApp } from './support.js';

/** Runs `livepatch args --json`, checks its exit code and error code, and resolves with how long it took, in ms. */
async function timedError(args, dir, exitCode, code) {
  const started = Date.now();
  const { error } = await cliJson(args, { dir }, exitCode);
  assert.equal(error.code, code, error.message);
  return Date.now() - started;
}

test('load --wait 2 of a patch whose top level never finishes ends in time, and the process never enables it', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-deadline-'));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const hanging = path.join(scratch, 'hang.js');
  fs.writeFileSync(hanging, `${fs.readFileSync(patch('fix-greet.js'), 'utf8')}\nawait new Promise(() => {});\n`);
  const took = await timedError(['load', hanging, '--wait', '2'], dir, 1, 'ERR_LP_PATCH_LOAD');
  assert.ok(took < 6000, `load took ${took} ms`);
  await sleep(1000);
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
  assert.equal(await get(app.port, '/greet'), 'hello world');
});

test('load --wait 3 ends in time when the process stops while the command waits for its transition', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const { response } = await hold(app);
  t.after(() => app.child.kill('SIGCONT'));
  const started = Date.now();
  const loading = cliJson(['load', patch('fix-hold.ts'), '--wait', '3'], { dir }, 1);
  await sleep(1000);
  app.child.kill('SIGSTOP');
  const { error } = await Promise.race([loading, sleep(12_000).then(() => ({ error: { code: 'still waiting after 12 s' } }))]);
  const took = Date.now() - started;
  assert.equal(error.code, 'ERR_LP_NOT_RESPONDING');
  assert.ok(took < 8000, `load took ${took} ms`);
  app.child.kill('SIGCONT');
  await get(app.port, '/release');
  assert.equal(await response, 'held');
});

test('list on a stopped process ends in time', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  app.child.kill('SIGSTOP');
  t.after(() => app.child.kill('SIGCONT'));
  const took = await timedError(['list'], dir, 1, 'ERR_LP_NOT_RESPONDING');
  assert.ok(took < 8000, `list took ${took} ms`);
});

test('a request that reaches the process after its deadline is refused, not acted on', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  await cliJson(['load', patch('fix-greet.js')], { dir });
  const conn = await raw(path.join(dir, `${app.pid}.sock`));
  conn.send({ v: 1, id: 1, type: 'hello', token: fs.readFileSync(path.join(dir, `${app.pid}.token`), 'utf8') });
  await conn.next();
  app.child.kill('SIGSTOP');
  conn.send({ v: 1, id: 2, type: 'sys-write', path: 'fix-greet/enabled', value: '0', deadline: Date.now() + 200 });
  await sleep(500);
  app.child.kill('SIGCONT');
  const late = await conn.next();
  assert.deepEqual({ id: late.id, code: late.error.code }, { id: 2, code: 'ERR_LP_NOT_RESPONDING' });
  assert.deepEqual((await cliJson(['list'], { dir })).patches.map((p) => [p.name, p.enabled]), [['fix-greet', true]]);
  conn.end();
});

test('an installed patch whose top level never finishes holds the start for 10 seconds at most, and is skipped', { timeout: 60_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-deadline-app-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.cpSync(APP_ROOT, root, { recursive: true });
  fs.mkdirSync(path.join(root, '.livepatch', 'installed'), { recursive: true });
  fs.writeFileSync(path.join(root, '.livepatch', 'installed', 'hang.js'), 'await new Promise(() => {});\n');
  const started = Date.now();
  const app = await startApp(t, runtimeDir(t), { script: path.join(root, 'src', 'server.js') });
  const took = Date.now() - started;
  assert.ok(took >= 9000 && took < 30_000, `the program started after ${took} ms`);
  assert.match(app.stderr, /livepatch: failed to load installed patch 'hang' \(.*hang\.js\): cannot load patch module .*hang\.js: it did not finish loading within 10 seconds/);
  assert.equal(await get(app.port, '/greet'), 'hello world');
});
