// The `livepatch` commands against real processes: ps, list, info, tasks,
// log, sys and live symbols, in human and --json output; choosing among
// several processes; the state tree's read/write semantics and errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { CLI, suiteContext, waitFor } from '../helpers.js';
import { APP_ROOT, cli, cliJson, cliOk, get, LIMIT, patch, runtimeDir, SERVER, startApp } from './support.js';

const GREET = patch('fix-greet.js');

async function greetHash() {
  const { symbols } = await cliJson(['symbols', SERVER]);
  return symbols.find((s) => s.name === 'greet').hash;
}

// One process with fix-greet loaded, started once: each command is a test,
// and none of them changes the process.
describe('one process, human output', () => {
  const suite = suiteContext();
  let dir;
  let app;
  let loaded;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
    loaded = await cliOk(['load', GREET], { dir });
  }, LIMIT);

  test('load names the patch module, then the time compiling it took, then the transition time and the time in all', () => {
    assert.match(loaded.stdout, new RegExp(`^loading patch module: ${GREET}\nread and compiled \\(\\d+(\\.\\d)? ms\\), enabled\ntransition complete \\(\\d+(\\.\\d)? ms; \\d+ ms in all\\)\n$`));
  });

  test('the loaded patch serves requests', LIMIT, async () => {
    assert.equal(await get(app.port, '/greet'), 'patched hello world');
  });

  test('ps: the process, its node, consistency model, patches and command', LIMIT, async () => {
    const ps = (await cliOk(['ps'], { dir })).stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/));
    assert.deepEqual(ps, [
      ['PID', 'NODE', 'CONSISTENCY', 'PATCHES', 'COMMAND'],
      [String(app.pid), process.version, 'per-task', 'fix-greet', `node ${SERVER}`],
    ]);
  });

  test('list: the loaded patches, the patched functions and the installed patches', LIMIT, async () => {
    assert.equal((await cliOk(['list'], { dir })).stdout, [
      'Loaded patches:',
      'fix-greet [enabled]',
      '',
      'Currently patched functions:',
      'MODULE         FUNCTION  PATCHES',
      'src/server.js  greet,1   fix-greet',
      '',
      'Installed patches:',
      '',
    ].join('\n'));
  });

  test("info: the patch's state, attributes, source, timing and objects", LIMIT, async () => {
    const lines = (await cliOk(['info', 'fix-greet'], { dir })).stdout.split('\n');
    assert.match(lines.splice(8, 1)[0], /^timing: {7}compiled in \d+(\.\d)? ms, last transition \d+(\.\d)? ms$/);
    assert.equal(lines.join('\n'), [
      'Patch information for fix-greet:',
      'state:        [enabled]',
      'enabled:      1',
      'transition:   0',
      'forced:       0',
      'replace:      0',
      'stack_order:  1',
      `source:       ${GREET}`,
      'states:       -',
      'objects:',
      '  src/server.js: patched 1, 1 instance',
      `    greet,1: hash ${await greetHash()}`,
      '',
    ].join('\n'));
  });

  test('tasks: no transition, and the root task', LIMIT, async () => {
    // Finished tasks stay listed until collected, so the columns' widths vary: compare cells.
    const tasks = (await cliOk(['tasks'], { dir })).stdout.split('\n');
    assert.equal(tasks[0], 'transition: none');
    assert.deepEqual(tasks.slice(1, 3).map((line) => line.split(/ {2,}/)), [['TASK', 'NAME', 'PATCH_STATE', 'SUSPENDED IN'], ['0', 'root', '-1']]);
  });

  test("sys <attribute> prints its value: a patch's, by its short or absolute path, and a task's", LIMIT, async () => {
    assert.equal((await cliOk(['sys', 'fix-greet/enabled'], { dir })).stdout, '1\n');
    assert.equal((await cliOk(['sys', '/livepatch/fix-greet/src/server.js/patched'], { dir })).stdout, '1\n');
    assert.equal((await cliOk(['sys', 'tasks/0/patch_state'], { dir })).stdout, '-1\n');
  });

  test('sys <directory> lists its entries with their modes and values', LIMIT, async () => {
    assert.equal((await cliOk(['sys', 'fix-greet'], { dir })).stdout, [
      'MODE  PATH                                        VALUE',
      'd     livepatch/fix-greet/',
      'rw    livepatch/fix-greet/enabled                 1',
      'ro    livepatch/fix-greet/transition              0',
      'wo    livepatch/fix-greet/force',
      'ro    livepatch/fix-greet/replace                 0',
      'ro    livepatch/fix-greet/stack_order             1',
      'd     livepatch/fix-greet/src/server.js/',
      'ro    livepatch/fix-greet/src/server.js/patched   1',
      'd     livepatch/fix-greet/src/server.js/greet,1/',
      '',
    ].join('\n'));
  });

  test('sys without a path lists the whole tree, the tasks too', LIMIT, async () => {
    const tree = (await cliOk(['sys'], { dir })).stdout.split('\n');
    assert.deepEqual(tree.slice(0, 4), ['MODE  PATH                                        VALUE', 'd     /', 'd     livepatch/', 'd     livepatch/fix-greet/']);
    assert.ok(tree.includes('d     tasks/0/'));
    assert.ok(tree.includes('ro    tasks/0/name                                root'));
  });

  test('log: the ring buffer, each line with its time since the start', LIMIT, async () => {
    const log = (await cliOk(['log'], { dir })).stdout.trimEnd().split('\n');
    for (const line of log) assert.match(line, /^\[ {0,9}\d+\.\d{3}\] /);
    assert.deepEqual(log.map((line) => line.slice(13)), [
      "livepatch: enabling patch 'fix-greet'",
      "livepatch: 'fix-greet': initializing patching transition",
      "livepatch: 'fix-greet': starting patching transition",
      "livepatch: 'fix-greet': completing patching transition",
      "livepatch: 'fix-greet': patching complete",
    ]);
  });

  test('symbols <module> -p: the live symbol table is the one symbols <file> computes offline', LIMIT, async () => {
    const offline = await cliOk(['symbols', SERVER, '--root', APP_ROOT]);
    assert.equal((await cliOk(['symbols', 'src/server.js', '-p', String(app.pid)], { dir })).stdout, offline.stdout);
  });

  test('symbols -p: the modules loaded in the process', LIMIT, async () => {
    const modules = (await cliOk(['symbols', '-p', String(app.pid)], { dir })).stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/));
    assert.deepEqual(modules, [['MODULE', 'INSTANCE', 'STATE', 'SYMBOLS', 'LOCATION'], ['src/server.js', '1', 'live', '3', `file://${SERVER}`]]);
  });
});

// The same in --json output; the patch is unloaded last.
describe('one process, --json output of every command', () => {
  const suite = suiteContext();
  let dir;
  let app;
  let greetInfo;
  let loaded;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
    const hash = await greetHash();
    greetInfo = {
      name: 'fix-greet', enabled: true, transition: false, replace: false, forced: false, stackOrder: 1, source: GREET, states: [],
      objects: [{ module: 'src/server.js', patched: true, instances: 1, dynamic: false, funcs: [{ name: 'greet', sympos: 1, nop: false, transition: false, hashes: [hash] }] }],
    };
    loaded = await cliJson(['load', GREET], { dir });
    const { compileMs, transitionMs } = loaded.info;
    greetInfo = { ...greetInfo, compileMs, transitionMs };
  }, LIMIT);

  test('load: the patch, its completed transition, the times it took and the patch info', () => {
    assert.ok(Number.isInteger(loaded.ms));
    const { compileMs, transitionMs } = loaded;
    assert.ok(compileMs > 0 && transitionMs >= 0 && compileMs + transitionMs <= loaded.ms, `${compileMs} + ${transitionMs} <= ${loaded.ms}`);
    assert.deepEqual(loaded, { patch: 'fix-greet', complete: true, ms: loaded.ms, compileMs, transitionMs, info: greetInfo });
  });

  test('ps: the process, how it was started, its configuration and patches', LIMIT, async () => {
    const { processes } = await cliJson(['ps'], { dir });
    assert.equal(processes.length, 1);
    assert.ok(processes[0].startTime <= Date.now());
    assert.deepEqual({ ...processes[0], startTime: 0, execArgv: [] }, {
      pid: app.pid, argv: [process.execPath, SERVER], execArgv: [], node: process.version, livepatch: '0.1.0',
      consistency: 'per-task', root: APP_ROOT, installDir: `${APP_ROOT}/.livepatch/installed`, startTime: 0,
      patches: [{ name: 'fix-greet', enabled: true, transition: false, forced: false }], installed: [],
      app: 'control-app', role: 'process', transition: null, threads: [],
    });
  });

  test('list: the patches, the patched functions and the installed patches', LIMIT, async () => {
    assert.deepEqual(await cliJson(['list'], { dir }), {
      patches: [greetInfo], pinned: [], transition: null, installDir: `${APP_ROOT}/.livepatch/installed`, installed: [],
      functions: [{ module: 'src/server.js', instance: 1, function: 'greet', sympos: 1, stack: ['fix-greet'], transition: false }],
    });
  });

  test('info: the patch info', LIMIT, async () => {
    assert.deepEqual(await cliJson(['info', 'fix-greet'], { dir }), greetInfo);
  });

  test('tasks: no transition, and the root task', LIMIT, async () => {
    const tasks = await cliJson(['tasks'], { dir });
    assert.equal(tasks.transition, null);
    assert.deepEqual({ ...tasks.tasks[0], startTime: 0 }, { id: 0, name: 'root', startTime: 0, patchState: -1, pending: false, blockedOn: null });
  });

  test('sys <attribute>: its path and value', LIMIT, async () => {
    assert.deepEqual(await cliJson(['sys', 'fix-greet/replace'], { dir }), { kind: 'attr', path: 'livepatch/fix-greet/replace', value: '0\n' });
  });

  test('sys <directory>: its entries with their modes and values', LIMIT, async () => {
    assert.deepEqual(await cliJson(['sys', 'fix-greet/src/server.js'], { dir }), {
      kind: 'dir',
      path: 'livepatch/fix-greet/src/server.js',
      entries: [
        { path: 'livepatch/fix-greet/src/server.js', mode: 'dir' },
        { path: 'livepatch/fix-greet/src/server.js/patched', mode: 'ro', value: '1\n' },
        { path: 'livepatch/fix-greet/src/server.js/greet,1', mode: 'dir' },
      ],
    });
  });

  test('sys <attribute> <value>: the path and the value written', LIMIT, async () => {
    assert.deepEqual(await cliJson(['sys', 'fix-greet/force', '0'], { dir }), { path: 'livepatch/fix-greet/force', value: '0' });
  });

  test('log: the records with their sequence number, level and time', LIMIT, async () => {
    const log = await cliJson(['log'], { dir });
    assert.deepEqual(log.records.map((r) => [r.seq, r.level, r.text]), [
      [1, 'notice', "livepatch: enabling patch 'fix-greet'"],
      [2, 'debug', "livepatch: 'fix-greet': initializing patching transition"],
      [3, 'notice', "livepatch: 'fix-greet': starting patching transition"],
      [4, 'debug', "livepatch: 'fix-greet': completing patching transition"],
      [5, 'notice', "livepatch: 'fix-greet': patching complete"],
    ]);
    assert.ok(log.records.every((r) => r.time >= log.startTime));
  });

  test('symbols <module> -p: the live symbol table is the one symbols <file> computes offline', LIMIT, async () => {
    const live = await cliJson(['symbols', 'src/server.js', '-p', String(app.pid)], { dir });
    assert.deepEqual(live, await cliJson(['symbols', SERVER]));
  });

  test('symbols -p: the modules loaded in the process', LIMIT, async () => {
    const { modules } = await cliJson(['symbols', '-p', String(app.pid)], { dir });
    assert.deepEqual(modules, [{ id: 'src/server.js', instance: 1, location: `file://${SERVER}`, state: 'live', symbols: 3 }]);
  });

  test('symbols <module> -p of a module the process has not loaded is an error', LIMIT, async () => {
    const notLoaded = await cliJson(['symbols', 'src/lazy.js', '-p', String(app.pid)], { dir }, 1);
    assert.equal(notLoaded.error.message, "module 'src/lazy.js' is not loaded in this process");
  });

  test('unload: the patch and its completed transition, and the original code runs again', LIMIT, async () => {
    const unloaded = await cliJson(['unload', 'fix-greet'], { dir });
    assert.deepEqual(unloaded, { patch: 'fix-greet', complete: true, ms: unloaded.ms });
    assert.equal(await get(app.port, '/greet'), 'hello world');
  });

  // After the unload above.
  test('info of a patch that is no longer loaded: the coded error', LIMIT, async () => {
    assert.deepEqual(await cliJson(['info', 'fix-greet'], { dir }, 1), {
      error: { code: 'ERR_LP_NO_PATCH', errno: 'ENOENT', message: "patch 'fix-greet': no such patch", hint: 'list the loaded patches with `livepatch list`', patch: 'fix-greet' },
    });
  });
});

// Two processes in one runtime directory; fix-greet goes into the first.
describe('two processes at once', () => {
  const suite = suiteContext();
  let dir;
  let a;
  let b;
  let pids;
  before(async () => {
    dir = runtimeDir(suite);
    [a, b] = [await startApp(suite, dir), await startApp(suite, dir)];
    pids = [a.pid, b.pid].sort((x, y) => x - y);
  }, LIMIT);

  test('without -p the CLI refuses to guess', LIMIT, async () => {
    const ambiguous = await cli(['list'], { dir });
    assert.equal(ambiguous.stderr, `livepatch: several processes run under livepatch: ${pids.join(', ')}\n  hint: choose one with -p <pid>\n`);
    assert.equal(ambiguous.code, 2);
    assert.equal((await cliJson(['list'], { dir }, 2)).error.code, 'ERR_LP_AMBIGUOUS_PROCESS');
  });

  test('-p chooses the process a command acts on', LIMIT, async () => {
    await cliOk(['load', GREET, '-p', String(a.pid)], { dir });
    assert.equal(await get(a.port, '/greet'), 'patched hello world');
    assert.equal(await get(b.port, '/greet'), 'hello world');
    assert.deepEqual((await cliJson(['list', '-p', String(a.pid)], { dir })).patches.map((p) => p.name), ['fix-greet']);
    assert.deepEqual((await cliJson(['list', '-p', String(b.pid)], { dir })).patches, []);
    const { processes } = await cliJson(['ps'], { dir });
    assert.deepEqual(processes.map((p) => [p.pid, p.patches.map((x) => x.name)]), pids.map((pid) => [pid, pid === a.pid ? ['fix-greet'] : []]));

    await cliOk(['unload', 'fix-greet', '-p', String(a.pid)], { dir });
    assert.equal(await get(a.port, '/greet'), 'hello world');
  });
});

test('no process: a missing runtime directory', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const none = await cli(['list'], { dir });
  assert.equal(none.stderr, `livepatch: no process under livepatch: the runtime directory ${dir} does not exist\n  hint: list the processes running under livepatch with \`livepatch ps\`\n`);
  assert.equal(none.code, 4);
  assert.deepEqual(await cli(['ps'], { dir }), { code: 0, stdout: 'PID  NODE  CONSISTENCY  PATCHES  COMMAND\n', stderr: '' });
});

test('no process: a runtime directory its last process has left', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  app.child.kill('SIGTERM');
  await app.exited;
  const empty = await cli(['tasks'], { dir });
  assert.equal(empty.stderr, `livepatch: no process under livepatch (no control socket in ${dir})\n  hint: list the processes running under livepatch with \`livepatch ps\`\n`);
  assert.equal(empty.code, 4);
});

test('a stopped process does not answer its control socket: the CLI gives up after 5 s', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  process.kill(app.pid, 'SIGSTOP');
  let result;
  try {
    result = await cliJson(['list'], { dir }, 1);
  } finally {
    process.kill(app.pid, 'SIGCONT');
  }
  assert.deepEqual(result.error, {
    code: 'ERR_LP_NOT_RESPONDING', errno: 'ETIMEDOUT', detail: String(app.pid),
    message: `process ${app.pid} is not responding on its control socket`,
    hint: 'its event loop is blocked or it is stopped (SIGSTOP, a debugger); try again once it runs',
  });
  // It answers again once it runs.
  assert.deepEqual((await cliJson(['list'], { dir })).patches, []);
});

// One process with fix-greet loaded; the patch is disabled last.
describe('the state tree: values, attribute modes, missing entries and the kernel errors', () => {
  const suite = suiteContext();
  let dir;
  before(async () => {
    dir = runtimeDir(suite);
    await startApp(suite, dir);
    await cliOk(['load', GREET], { dir });
  }, LIMIT);
  const assertSysFails = async (args, code, errorCode, stderr) => {
    const result = await cli(['sys', ...args], { dir });
    assert.deepEqual(result, { code, stdout: '', stderr: `livepatch: ${stderr}\n` }, `sys ${args.join(' ')}`);
    assert.equal((await cliJson(['sys', ...args], { dir }, code)).error.code, errorCode, `sys ${args.join(' ')}`);
  };

  test('a value that is not a kstrtobool boolean is refused', LIMIT, async () => {
    await assertSysFails(['fix-greet/enabled', 'maybe'], 1, 'ERR_LP_INVALID_VALUE', 'invalid value "maybe" for livepatch/fix-greet/enabled\n  hint: write a boolean: 1/0, y/n, true/false, on/off');
    await assertSysFails(['fix-greet/enabled', 'o'], 1, 'ERR_LP_INVALID_VALUE', 'invalid value "o" for livepatch/fix-greet/enabled\n  hint: write a boolean: 1/0, y/n, true/false, on/off');
  });

  test('enabling an enabled patch is the kernel error, the value read as kstrtobool does', LIMIT, async () => {
    await assertSysFails(['fix-greet/enabled', 'yes'], 1, 'ERR_LP_ALREADY', "patch 'fix-greet': already in the requested state\n  hint: a disabled patch is freed and cannot be enabled again: load it again as a new patch");
  });

  test('forcing a patch that is not in transition is the kernel error', LIMIT, async () => {
    await assertSysFails(['fix-greet/force', 'true'], 1, 'ERR_LP_NOT_IN_TRANSITION', "patch 'fix-greet': not in transition\n  hint: force applies only to the patch that is in transition");
  });

  test('read-only attributes and directories refuse writes', LIMIT, async () => {
    await assertSysFails(['fix-greet/transition', '1'], 1, 'ERR_LP_READ_ONLY', 'livepatch/fix-greet/transition is not writable\n  hint: only enabled and force can be written; see docs/cli.md for the state tree');
    await assertSysFails(['fix-greet/src/server.js', '1'], 1, 'ERR_LP_READ_ONLY', 'livepatch/fix-greet/src/server.js is not writable\n  hint: only enabled and force can be written; see docs/cli.md for the state tree');
    await assertSysFails(['tasks/0/patch_state', '1'], 1, 'ERR_LP_READ_ONLY', 'tasks/0/patch_state is not writable\n  hint: only enabled and force can be written; see docs/cli.md for the state tree');
  });

  test('a write-only attribute refuses reads', LIMIT, async () => {
    await assertSysFails(['fix-greet/force'], 1, 'ERR_LP_WRITE_ONLY', 'livepatch/fix-greet/force is write-only\n  hint: force is only written: `livepatch sys <patch>/force 1` forces the transition in progress');
  });

  test('a path to no entry is refused, whatever it names', LIMIT, async () => {
    await assertSysFails(['fix-greet/src/other.js/patched'], 1, 'ERR_LP_NO_ENTRY', 'no such entry in the state tree: livepatch/fix-greet/src/other.js/patched\n  hint: list the tree with `livepatch sys`');
    await assertSysFails(['fix-greet/src/server.js/greet,2'], 1, 'ERR_LP_NO_ENTRY', 'no such entry in the state tree: livepatch/fix-greet/src/server.js/greet,2\n  hint: list the tree with `livepatch sys`');
    await assertSysFails(['fix-greet/../fix-greet/enabled'], 1, 'ERR_LP_NO_ENTRY', 'no such entry in the state tree: fix-greet/../fix-greet/enabled\n  hint: list the tree with `livepatch sys`');
    await assertSysFails(['tasks/999/name'], 1, 'ERR_LP_NO_ENTRY', 'no such entry in the state tree: tasks/999/name\n  hint: list the tree with `livepatch sys`');
  });

  test('a kstrtobool false written to force is accepted with no transition to force', LIMIT, async () => {
    await cliOk(['sys', 'fix-greet/force', 'n'], { dir });
  });

  test('off disables the patch, which is then freed and leaves the tree', LIMIT, async () => {
    // `off` is a kstrtobool false.
    await cliOk(['sys', 'fix-greet/enabled', 'off'], { dir });
    await assertSysFails(['fix-greet'], 1, 'ERR_LP_NO_ENTRY', 'no such entry in the state tree: livepatch/fix-greet\n  hint: list the tree with `livepatch sys`');
    assert.equal((await cliOk(['sys', 'livepatch'], { dir })).stdout, 'MODE  PATH        VALUE\nd     livepatch/\n');
  });
});

test('log -f prints the ring buffer, then lines as they are logged, until interrupted', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  await startApp(t, dir);
  await cliOk(['load', GREET], { dir });
  const follower = spawn(process.execPath, [CLI, 'log', '-f'], { env: { ...process.env, LIVEPATCH_RUNTIME_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => follower.kill('SIGKILL'));
  let out = '';
  follower.stdout.on('data', (d) => (out += d));
  const sawLine = (text) => waitFor(() => out.includes(text), { what: `log -f to print ${JSON.stringify(text)}` });
  // Lines from the ring buffer first: once they are out, the follower is subscribed.
  await sawLine("livepatch: 'fix-greet': patching complete");
  await cliOk(['unload', 'fix-greet'], { dir });
  await sawLine("livepatch: 'fix-greet': unpatching complete");
  follower.kill('SIGINT');
  const [, signal] = await new Promise((resolve) => follower.on('exit', (...args) => resolve(args)));
  assert.equal(signal, 'SIGINT');
  assert.deepEqual(out.trimEnd().split('\n').map((line) => line.slice(13)), [
    "livepatch: enabling patch 'fix-greet'",
    "livepatch: 'fix-greet': initializing patching transition",
    "livepatch: 'fix-greet': starting patching transition",
    "livepatch: 'fix-greet': completing patching transition",
    "livepatch: 'fix-greet': patching complete",
    "livepatch: 'fix-greet': initializing unpatching transition",
    "livepatch: 'fix-greet': starting unpatching transition",
    "livepatch: 'fix-greet': completing unpatching transition",
    "livepatch: 'fix-greet': unpatching complete",
  ]);
});

test('usage errors exit 2 and say what is wrong', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const assertUsageError = async (args, stderr) => {
    const result = await cli(args, { dir });
    assert.equal(result.code, 2, `livepatch ${args.join(' ')}: ${result.stderr}`);
    assert.ok(result.stderr.startsWith(stderr), `livepatch ${args.join(' ')}: ${result.stderr}`);
  };
  await assertUsageError(['frobnicate'], "livepatch: unknown command 'frobnicate'");
  await assertUsageError(['load'], 'livepatch: usage: livepatch load <patch-file> [--wait S] [--keep] [--no-wait] [--allow-unloaded] [--all [--app NAME] [--atomic | --rolling N]] [-p PID] [-t TID]');
  await assertUsageError(['list', '-t', 'main'], "livepatch: -t takes a thread id, not 'main'");
  await assertUsageError(['load', GREET, '--all', '--rolling', '0'], "livepatch: --rolling takes a number of processes at a time, not '0'");
  await assertUsageError(['load', GREET, '--all', '--atomic', '--rolling', '2'], 'livepatch: --atomic and --rolling are two ways to roll out: choose one');
  await assertUsageError(['load', GREET, '--all', '-p', '1'], 'livepatch: --all addresses every process of a group: it takes neither -p nor -t');
  await assertUsageError(['load', GREET, '--wait', 'soon'], "livepatch: --wait takes a number of seconds, not 'soon'");
  await assertUsageError(['list', '-p', 'abc'], "livepatch: -p takes a process id, not 'abc'");
  await assertUsageError(['list', '--keep'], "livepatch: Unknown option '--keep'.");
  await assertUsageError(['sign', GREET], 'livepatch: usage: livepatch sign <patch-file> --key <private.pem>');
  await assertUsageError(['symbols'], 'livepatch: usage: livepatch symbols <file> [--root DIR] | <module-id> -p PID | -p PID');
  assert.equal((await cliJson(['load'], { dir }, 2)).error.code, 'ERR_LP_USAGE');
  assert.equal((await cli([], { dir })).code, 2);
});

test('help lists the commands', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const help = await cli(['help'], { dir });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: livepatch <command> \[options\]\n\n {2}ps \[--all\] {2,}list the processes running under livepatch; --all: each patch, its state, stalled transitions\n/);
});
