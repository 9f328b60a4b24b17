// load and unload through the CLI when a transition cannot complete: a
// task held in `handleHold` (one HTTP request suspended in an async
// function) blocks it. A stalled load reverses itself, or stays in
// transition with --keep; `enabled` reverses a transition both ways, and
// `force` completes one, marking the patch forced when it was unpatching.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { suiteContext, waitFor } from '../helpers.js';
import { cli, cliJson, cliOk, get, hold, LIMIT, patch, runtimeDir, startApp, without } from './support.js';

const HOLD = patch('fix-hold.ts');
const PROGRESS = /^\d+\/\d+ tasks switched$/;
const TIMEOUT_HINT = '  hint: the tasks listed above are suspended in patched functions: give them longer (--wait), or, if they never return, force the transition (`livepatch sys <patch>/force 1`) knowing they may then mix old and new code';

/**
 * The id of the task serving the latest held request, and its row in a
 * blocking-tasks table. Finished tasks stay listed until they are collected.
 */
async function heldTask(dir) {
  const { tasks } = await cliJson(['tasks'], { dir });
  const { id } = tasks.filter((t) => t.name === 'GET /hold').sort((a, b) => a.id - b.id).at(-1);
  return { id, row: `${String(id).padEnd(4)}  GET /hold  src/server.js:handleHold` };
}

/** Log lines of the process, without their timestamps. */
async function logLines(dir) {
  return (await cliJson(['log'], { dir })).records.map((r) => r.text);
}

test('a stalled load prints the stalled tasks and reverses itself (exit 3)', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const { response } = await hold(app);
  const task = await heldTask(dir);

  const result = await cli(['load', HOLD, '--wait', '1'], { dir });
  assert.equal(without(result.stdout, PROGRESS).replace(/\(\d+(\.\d)? ms\)/, '(#)'), [
    `loading patch module: ${HOLD}`,
    'read and compiled (#), enabled',
    'waiting (up to 1 second) for the patching transition to complete...',
    'patch transition has stalled!',
    'Stalled tasks:',
    'TASK  NAME       SUSPENDED IN',
    task.row,
    "patch 'fix-hold' did not complete its transition, reverting...",
    '',
  ].join('\n'));
  assert.equal(result.stderr, `livepatch: patch 'fix-hold': transition did not complete: stalled for 1 second; reverted\n${TIMEOUT_HINT}\n`);
  assert.equal(result.code, 3);

  // Nothing is left of the patch, and the held task finishes in the code it started in.
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
  assert.deepEqual((await logLines(dir)).slice(-7), [
    "livepatch: enabling patch 'fix-hold'",
    "livepatch: 'fix-hold': initializing patching transition",
    "livepatch: 'fix-hold': starting patching transition",
    "livepatch: 'fix-hold': reversing transition from patching to unpatching",
    "livepatch: 'fix-hold': starting unpatching transition",
    "livepatch: 'fix-hold': completing unpatching transition",
    "livepatch: 'fix-hold': unpatching complete",
  ]);
  assert.equal(await get(app.port, '/release'), 'released 1');
  assert.equal(await response, 'held');
});

// One request held in handleHold, and fix-hold loaded with --keep; the
// request is released last.
describe('with --keep a stalled load stays in transition, and completes once the task leaves the function', () => {
  const suite = suiteContext();
  let dir;
  let app;
  let response;
  let task;
  let stalled;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
    ({ response } = await hold(app));
    task = await heldTask(dir);
    stalled = await cliJson(['load', HOLD, '--wait', '0.5', '--keep'], { dir }, 3);
  }, LIMIT);

  test('the load reports the stalled task, and that it left the patch in transition', () => {
    assert.deepEqual(stalled, {
      patch: 'fix-hold',
      complete: false,
      stalled: [{ task: task.id, name: 'GET /hold', function: 'src/server.js:handleHold' }],
      reverted: false,
      error: {
        code: 'ERR_LP_TIMEOUT', errno: 'ETIMEDOUT', patch: 'fix-hold',
        message: "patch 'fix-hold': transition did not complete: stalled for 0.5 seconds; left in transition (--keep)",
        detail: 'stalled for 0.5 seconds; left in transition (--keep)', hint: TIMEOUT_HINT.slice('  hint: '.length),
      },
    });
  });

  test('list shows the patch enabling, the blocking task, and the function in transition', LIMIT, async () => {
    const list = (await cliOk(['list'], { dir })).stdout.split('\n');
    assert.deepEqual(list.slice(0, 2), ['Loaded patches:', 'fix-hold [enabling...]']);
    assert.match(list[3], /^Blocking tasks \(\d+\/\d+ switched to patched\):$/);
    assert.deepEqual(list.slice(4, 6), ['TASK  NAME       SUSPENDED IN', task.row]);
    assert.ok(list.includes('src/server.js  handleHold,1  fix-hold (transition)'), list.join('\n'));
  });

  test('tasks shows the transition and the task that has not switched', LIMIT, async () => {
    const tasks = (await cliOk(['tasks'], { dir })).stdout.split('\n');
    assert.match(tasks[0], /^transition: 'fix-hold' to patched, \d+\/\d+ tasks switched$/);
    assert.match(tasks[2], new RegExp(`^${task.id} +GET /hold +0 +src/server.js:handleHold$`));
  });

  test("sys shows the patch in transition and each task's patch state", LIMIT, async () => {
    assert.equal((await cliOk(['sys', 'fix-hold/transition'], { dir })).stdout, '1\n');
    assert.equal((await cliOk(['sys', `tasks/${task.id}/patch_state`], { dir })).stdout, '0\n');
    assert.equal((await cliOk(['sys', 'tasks/0/patch_state'], { dir })).stdout, '1\n');
  });

  test('only one patch can be in transition', LIMIT, async () => {
    const busy = await cli(['load', patch('fix-greet.js')], { dir });
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr, "livepatch: patch 'fix-greet': another patch is in transition ('fix-hold' is in transition)\n  hint: wait for the transition to finish (`livepatch list`), or reverse or force it\n");
  });

  test('the transition completes once the task leaves the function', LIMIT, async () => {
    assert.equal(await get(app.port, '/release'), 'released 1');
    assert.equal(await response, 'held');
    await waitFor(async () => (await cliOk(['sys', 'fix-hold/transition'], { dir })).stdout === '0\n');
    const info = await cliJson(['info', 'fix-hold'], { dir });
    assert.deepEqual([info.enabled, info.transition, info.forced], [true, false, false]);
  });
});

// One process; the tests run in order, each starting where the one before
// left it.
describe('enabled written during a transition', () => {
  const suite = suiteContext();
  let dir;
  let app;
  let second;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
  }, LIMIT);

  test('writing 0 to enabled during an enable reverses it', LIMIT, async () => {
    const first = await hold(app);
    await cli(['load', HOLD, '--wait', '0.2', '--keep'], { dir });
    assert.equal((await cliOk(['sys', 'fix-hold/enabled'], { dir })).stdout, '1\n');
    assert.deepEqual(await cliJson(['sys', 'fix-hold/enabled', '0'], { dir }), { path: 'livepatch/fix-hold/enabled', value: '0' });
    // The held task never switched, so it already is in the new target state: the reversal completes at once.
    await waitFor(async () => (await cliJson(['list'], { dir })).patches.length === 0);
    assert.deepEqual((await logLines(dir)).slice(-4), [
      "livepatch: 'fix-hold': reversing transition from patching to unpatching",
      "livepatch: 'fix-hold': starting unpatching transition",
      "livepatch: 'fix-hold': completing unpatching transition",
      "livepatch: 'fix-hold': unpatching complete",
    ]);
    await get(app.port, '/release');
    assert.equal(await first.response, 'held');
  });

  test('writing 1 to enabled during a disable reverses it', LIMIT, async () => {
    // Now a task held inside the new version blocks the disable.
    await cliOk(['load', HOLD], { dir });
    second = await hold(app);
    await cli(['unload', 'fix-hold', '--wait', '0.2', '--keep'], { dir });
    assert.equal((await cliOk(['list'], { dir })).stdout.split('\n')[1], 'fix-hold [disabling...]');
    await cliOk(['sys', 'fix-hold/enabled', '1'], { dir });
    await waitFor(async () => (await cliOk(['sys', 'fix-hold/transition'], { dir })).stdout === '0\n');
    assert.equal((await cliOk(['list'], { dir })).stdout.split('\n')[1], 'fix-hold [enabled]');
    assert.deepEqual((await logLines(dir)).slice(-4), [
      "livepatch: 'fix-hold': reversing transition from unpatching to patching",
      "livepatch: 'fix-hold': starting patching transition",
      "livepatch: 'fix-hold': completing patching transition",
      "livepatch: 'fix-hold': patching complete",
    ]);
  });

  test('a stalled unload reverses itself the same way, and the patch stays enabled', LIMIT, async () => {
    // The task held in the new version still blocks it.
    const task = await heldTask(dir);
    const result = await cli(['unload', 'fix-hold', '--wait', '0.5'], { dir });
    assert.equal(without(result.stdout, PROGRESS), [
      "disabling patch 'fix-hold'",
      'waiting (up to 0.5 seconds) for the unpatching transition to complete...',
      'patch transition has stalled!',
      'Stalled tasks:',
      'TASK  NAME       SUSPENDED IN',
      task.row,
      "patch 'fix-hold' did not complete its transition, reverting...",
      '',
    ].join('\n'));
    assert.equal(result.code, 3);
    assert.equal((await cliOk(['list'], { dir })).stdout.split('\n')[1], 'fix-hold [enabled]');
    await get(app.port, '/release');
    assert.equal(await second.response, 'held patched');
  });
});

// One process; the tests run in order, the second starting where the first
// left it.
describe('force written during a transition', () => {
  const suite = suiteContext();
  let dir;
  let app;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
  }, LIMIT);

  test('force completes a stalled enable, and marks nothing', LIMIT, async () => {
    const first = await hold(app);
    await cli(['load', HOLD, '--wait', '0.2', '--keep'], { dir });
    await cliOk(['sys', 'fix-hold/force', '1'], { dir });
    await waitFor(async () => (await cliOk(['sys', 'fix-hold/transition'], { dir })).stdout === '0\n');
    // A forced patching of a non-replace patch marks nothing (spec §4.9).
    const info = await cliJson(['info', 'fix-hold'], { dir });
    assert.deepEqual([info.enabled, info.transition, info.forced], [true, false, false]);
    assert.equal((await cliOk(['list'], { dir })).stdout.split('\n')[1], 'fix-hold [enabled]');
    assert.ok((await logLines(dir)).includes('livepatch: forcing remaining tasks to the patched state'));
    // The held task still finishes in the old code: that is what force risks.
    await get(app.port, '/release');
    assert.equal(await first.response, 'held');
  });

  test('forcing a stalled disable completes it, and marks the patch forced for good', LIMIT, async () => {
    const second = await hold(app);
    await cli(['unload', 'fix-hold', '--wait', '0.2', '--keep'], { dir });
    await cliOk(['sys', 'fix-hold/force', 'y'], { dir });
    await waitFor(async () => (await cliJson(['list'], { dir })).patches.length === 0);
    const list = (await cliOk(['list'], { dir })).stdout.split('\n');
    assert.deepEqual(list.slice(0, 4), ['Loaded patches:', 'fix-hold [disabled] (forced)', '', 'Currently patched functions:']);
    const info = await cliJson(['info', 'fix-hold'], { dir });
    assert.deepEqual([info.enabled, info.transition, info.forced], [false, false, true]);
    assert.match((await cliOk(['info', 'fix-hold'], { dir })).stdout, /^state: {8}\[disabled\] \(forced\)\n/m);
    await get(app.port, '/release');
    assert.equal(await second.response, 'held patched');
  });
});

test('load --no-wait returns once the transition has started, and the process completes it', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const { response } = await hold(app);
  await heldTask(dir);
  const started = await cliOk(['load', HOLD, '--no-wait'], { dir });
  assert.match(started.stdout, new RegExp(`^loading patch module: ${HOLD}\nread and compiled \\(\\d+(\\.\\d)? ms\\), enabled\ntransition started: \\d+/\\d+ tasks switched; \`livepatch list\` and \`livepatch tasks\` follow it\n$`));
  assert.equal((await cliJson(['list'], { dir })).transition.patch, 'fix-hold');
  assert.equal((await cli(['load', HOLD, '--no-wait', '--keep'], { dir })).code, 2);
  assert.equal(await get(app.port, '/release'), 'released 1');
  assert.equal(await response, 'held');
  await waitFor(async () => (await cliJson(['list'], { dir })).transition === null, { what: 'the transition to complete' });
  assert.deepEqual((await cliJson(['list'], { dir })).patches.map((p) => [p.name, p.enabled]), [['fix-hold', true]]);
});

// One process with fix-hold loaded; it is unloaded, then unloaded again.
describe('one patch loaded twice and unloaded twice', () => {
  const suite = suiteContext();
  let dir;
  let app;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
    await cliOk(['load', HOLD], { dir });
  }, LIMIT);

  test('loading a patch of the name of a loaded one is refused', LIMIT, async () => {
    const again = await cli(['load', HOLD], { dir });
    assert.equal(again.stderr, "livepatch: patch 'fix-hold': a patch with this name is already loaded\n  hint: unload it first, or give the new patch another name (a cumulative patch with replace: true takes over)\n");
    assert.equal(again.code, 1);
  });

  test('unload waits until the patch is removed', LIMIT, async () => {
    const unload = await cliOk(['unload', 'fix-hold'], { dir });
    assert.match(unload.stdout, /^disabling patch 'fix-hold'\ntransition complete \(\d+ ms\)\n$/);
    assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
  });

  // After the unload above.
  test('unloading a patch that is not loaded is refused, and the process serves on', LIMIT, async () => {
    const gone = await cli(['unload', 'fix-hold'], { dir });
    assert.equal(gone.stderr, "livepatch: patch 'fix-hold': no such patch\n  hint: list the loaded patches with `livepatch list`\n");
    assert.equal(gone.code, 1);
    assert.equal(await get(app.port, '/greet'), 'hello world');
  });
});

test('a process that goes away while the CLI waits for its transition: exit 4', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const { response } = await hold(app);
  response.catch(() => {});
  const loading = cli(['load', HOLD, '--wait', '30'], { dir });
  await waitFor(async () => (await cliOk(['sys', 'livepatch'], { dir })).stdout.includes('livepatch/fix-hold/'));
  app.child.kill('SIGKILL');
  const result = await loading;
  assert.equal(result.stderr, `livepatch: no process ${app.pid}: it went away\n  hint: list the processes running under livepatch with \`livepatch ps\`\n`);
  assert.equal(result.code, 4);
});
