// Worker threads under livepatch (docs/fleet.md, "Worker threads"): a real
// program with 4 worker threads, each with its own engine, patched through
// the main thread's control socket, all of them or none.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, suiteContext, testPatch } from '../helpers.js';
import { cli, cliJson, cliOk, get, LIMIT, runtimeDir, startApp } from '../control/support.js';

const PATCH = testPatch('threads', 'fix-answer.js');

/** A copy of the fixture program in a temporary directory: with DIFFER=1 it rewrites its work.js. */
function copyApp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-threads-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(fixture('threads'), dir, { recursive: true });
  return path.join(dir, 'main.js');
}

const answers = async (app) => JSON.parse(await get(app.port, '/answers'));

describe('a program with 4 worker threads', () => {
  const t = suiteContext();
  const dir = runtimeDir(t);
  let app;

  test('every thread is under livepatch and listed by ps with its thread id', LIMIT, async () => {
    app = await startApp(t, dir, { script: copyApp(t) });
    const { processes } = await cliJson(['ps'], { dir });
    const threads = processes[0].threads.map((th) => th.thread);
    const before = await answers(app);
    assert.equal(before.main, 'old');
    assert.deepEqual(before.threads.map(([id]) => id).sort(), [...threads].sort());
    assert.equal(threads.length, 4);
    const table = (await cliOk(['ps'], { dir })).stdout.split('\n');
    assert.match(table[0], /THREADS/);
    assert.ok(table[1].includes(threads.join(',')), table[1]);
  });

  test('load enables the patch in every thread, and says which', LIMIT, async () => {
    const loaded = await cliJson(['load', PATCH], { dir });
    assert.equal(loaded.complete, true);
    const after = await answers(app);
    assert.deepEqual({ main: after.main, threads: after.threads.map(([, a]) => a) }, { main: 'new', threads: ['new', 'new', 'new', 'new'] });
    const list = await cliJson(['list'], { dir });
    assert.deepEqual(list.threads.map((th) => th.patches.map((p) => p.name)), [['fix-answer'], ['fix-answer'], ['fix-answer'], ['fix-answer']]);
    const info = await cliJson(['info', 'fix-answer'], { dir });
    assert.deepEqual(info.threads.map((th) => [th.thread, th.enabled]), list.threads.map((th) => [th.thread, true]));
    // The log gathers every thread's records, each worker's with its thread id.
    const { records } = await cliJson(['log'], { dir });
    const enabling = records.filter((r) => r.text.includes("enabling patch 'fix-answer'")).map((r) => r.thread ?? 0).sort((a, b) => a - b);
    assert.deepEqual(enabling, [0, ...list.threads.map((th) => th.thread)].sort((a, b) => a - b));
  });

  test('-t selects one thread: its list, its tasks', LIMIT, async () => {
    const [, [tid]] = (await answers(app)).threads;
    const one = await cliJson(['list', '-t', String(tid)], { dir });
    assert.deepEqual(one.patches.map((p) => p.name), ['fix-answer']);
    assert.equal(one.threads, undefined);
    const tasks = await cliJson(['tasks'], { dir });
    assert.ok(tasks.tasks.some((task) => task.thread === tid), JSON.stringify(tasks.tasks));
    const missing = await cli(['list', '-t', '999999'], { dir });
    assert.equal(missing.code, 4, missing.stderr);
    assert.match(missing.stderr, /no thread 999999/);
    assert.equal((await cliJson(['list', '-t', '999999'], { dir }, 4)).error.code, 'ERR_LP_NO_THREAD');
  });

  test('a thread started after the load runs the patch from its first call', LIMIT, async () => {
    const spawned = JSON.parse(await get(app.port, '/spawn'));
    assert.deepEqual({ first: spawned.first, answer: spawned.answer }, { first: 'new', answer: 'new' });
  });

  test('unload disables the patch in every thread', LIMIT, async () => {
    await cliOk(['unload', 'fix-answer'], { dir });
    const after = await answers(app);
    assert.deepEqual([after.main, ...after.threads.map(([, a]) => a)], ['old', 'old', 'old', 'old', 'old', 'old']);
    const list = await cliJson(['list'], { dir });
    assert.deepEqual(list.threads.flatMap((th) => th.patches), []);
  });

  test('load -t loads into one thread alone; unload without -t finds it there', LIMIT, async () => {
    const [[tid]] = (await answers(app)).threads;
    await cliOk(['load', PATCH, '-t', String(tid)], { dir });
    const loaded = await answers(app);
    assert.deepEqual([loaded.main, ...loaded.threads.map(([id, a]) => (id === tid ? `${a}*` : a))], ['old', 'new*', 'old', 'old', 'old', 'old']);
    assert.deepEqual((await cliJson(['info', 'fix-answer'], { dir })).threads.map((th) => th.thread), [tid]);
    await cliOk(['unload', 'fix-answer'], { dir });
    assert.deepEqual((await answers(app)).threads.map(([, a]) => a), ['old', 'old', 'old', 'old', 'old']);
  });

  test('messages of other shapes on the thread channel are passed over: the program and its threads run on', LIMIT, async () => {
    assert.equal(await get(app.port, '/noise'), 'sent');
    const after = await answers(app);
    assert.equal(after.threads.length, 5);
    assert.equal((await cliJson(['list'], { dir })).threads.length, 5);
    assert.equal(app.child.exitCode, null);
  });
});

describe('a program whose last thread runs a module that differs', () => {
  const t = suiteContext();
  const dir = runtimeDir(t);

  test('load refuses, names the thread, and leaves every thread on the old code', LIMIT, async () => {
    const app = await startApp(t, dir, { script: copyApp(t), env: { DIFFER: '1' } });
    const { threads } = (await cliJson(['ps'], { dir })).processes[0];
    const before = await answers(app);
    const differing = before.threads.at(-1)[0];
    const result = await cli(['load', PATCH], { dir });
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, new RegExp(`thread ${differing}\\b`), result.stderr);
    const json = await cliJson(['load', PATCH], { dir }, result.code);
    assert.equal(json.error.thread, differing);
    const after = await answers(app);
    assert.deepEqual([after.main, ...after.threads.map(([, a]) => a)], ['old', 'old', 'old', 'old', 'old']);
    // Reverted everywhere: the reversal completes and frees the patch in each thread.
    const list = await cliJson(['list'], { dir });
    assert.deepEqual(list.patches, []);
    assert.deepEqual(list.threads.flatMap((th) => th.patches.filter((p) => p.enabled)), []);
    assert.equal(threads.length, 4);
  });
});

describe('a program whose last thread is busy past the deadline', () => {
  const t = suiteContext();
  const dir = runtimeDir(t);

  test('load --wait 2 refuses, naming the thread that did not answer, and no thread keeps the patch', LIMIT, async () => {
    const app = await startApp(t, dir, { script: copyApp(t) });
    const busy = Number(await get(app.port, '/block?ms=6000'));
    const result = await cliJson(['load', PATCH, '--wait', '2'], { dir }, 1);
    assert.deepEqual([result.error.code, result.error.thread], ['ERR_LP_NOT_RESPONDING', busy]);
    // Once the thread runs again, it finds the load past its deadline and does not keep it.
    const after = await answers(app);
    assert.deepEqual([after.main, ...after.threads.map(([, a]) => a)], ['old', 'old', 'old', 'old', 'old']);
    const list = await cliJson(['list'], { dir });
    assert.deepEqual([list.patches, list.threads.flatMap((th) => th.patches)], [[], []]);
  });
});
