// The control socket itself: where it lives and with which permissions,
// the token handshake, framing and coded protocol errors, the files going
// away with the process, stale sockets, and another user being refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { CLI, collect, REGISTER, runNode, suiteContext, waitFor } from '../helpers.js';
import { cli, cliJson, LIMIT, raw, runtimeDir, SERVER, startApp } from './support.js';

test('the runtime directory is 0700, the socket and the token 0600, both named by pid', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const mode = (file) => (fs.statSync(file).mode & 0o777).toString(8);
  assert.equal(mode(dir), '700');
  assert.equal(mode(path.join(dir, `${app.pid}.sock`)), '600');
  assert.equal(mode(path.join(dir, `${app.pid}.token`)), '600');
  assert.ok(fs.statSync(path.join(dir, `${app.pid}.sock`)).isSocket());
  assert.match(fs.readFileSync(path.join(dir, `${app.pid}.token`), 'utf8'), /^[0-9a-f]{64}$/);
});

test('a connection without the right token is refused with ERR_LP_PERMISSION and closed', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const socketPath = path.join(dir, `${app.pid}.sock`);

  const missing = await raw(socketPath);
  missing.send({ v: 1, id: 1, type: 'list' });
  const refused = await missing.next();
  assert.deepEqual({ ...refused, error: { code: refused.error.code, errno: refused.error.errno, detail: refused.error.detail } }, {
    v: 1, id: 1, ok: false,
    error: { code: 'ERR_LP_PERMISSION', errno: 'EPERM', detail: 'the first request must be hello with the token' },
  });
  await missing.closed;

  const wrong = await raw(socketPath);
  wrong.send({ v: 1, id: 1, type: 'hello', token: 'f'.repeat(64) });
  const denied = await wrong.next();
  assert.equal(denied.error.code, 'ERR_LP_PERMISSION');
  assert.equal(denied.error.message, 'permission denied: wrong token');
  assert.equal(denied.error.hint, 'run the CLI as the user that owns the process');
  await wrong.closed;
});

// One authenticated connection: each bad request is a test, answered on it
// with a coded error; the oversized frame, which closes it, comes last.
describe('malformed and unknown requests on one connection, then an oversized frame', () => {
  const suite = suiteContext();
  let app;
  let conn;
  let hello;
  before(async () => {
    const dir = runtimeDir(suite);
    app = await startApp(suite, dir);
    conn = await raw(path.join(dir, `${app.pid}.sock`));
    suite.after(() => conn.end());
    const token = fs.readFileSync(path.join(dir, `${app.pid}.token`), 'utf8');
    conn.send({ v: 1, id: 1, type: 'hello', token });
    hello = await conn.next();
  }, LIMIT);
  const error = async (payload) => {
    conn.send(payload);
    const { id, ok, error: e } = await conn.next();
    return { id, ok, code: e.code, detail: e.detail };
  };

  test('hello with the token answers with the pid, the protocol and the version', () => {
    assert.deepEqual(hello, { v: 1, id: 1, ok: true, result: { pid: app.pid, protocol: 1, livepatch: '0.1.0' } });
  });

  test('a frame that is not JSON', LIMIT, async () => {
    const notJson = await error(Buffer.from('{not json'));
    assert.match(notJson.detail, /^not JSON: /);
    assert.deepEqual({ ...notJson, detail: undefined }, { id: null, ok: false, code: 'ERR_LP_PROTOCOL', detail: undefined });
  });

  test('a request that is not an object', LIMIT, async () => {
    assert.deepEqual(await error([1, 2]), { id: null, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'a request is a JSON object' });
  });

  test('a request of another protocol version', LIMIT, async () => {
    assert.deepEqual(await error({ v: 2, id: 2, type: 'list' }), { id: 2, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'protocol version 2, this process speaks 1' });
  });

  test('a request whose id is not an integer', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 'x', type: 'list' }), { id: null, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'id must be an integer' });
  });

  test('a request without a type', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 3 }), { id: 3, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'type must be a string' });
  });

  test('a request of an unknown type', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 4, type: 'reboot' }), { id: 4, ok: false, code: 'ERR_LP_UNKNOWN_REQUEST', detail: '"reboot"' });
  });

  test('a load without a file', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 5, type: 'load' }), { id: 5, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'load.file must be a string' });
  });

  test('a load of a relative path', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 6, type: 'load', file: 'fix.js' }), { id: 6, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'load.file must be an absolute path' });
  });

  test('a transition request whose waitMs is not a number', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 7, type: 'transition', waitMs: 'soon' }), { id: 7, ok: false, code: 'ERR_LP_PROTOCOL', detail: 'transition.waitMs must be a number' });
  });

  test('a deadline that is not a whole number of milliseconds is taken as it comes', LIMIT, async () => {
    const { id, code } = await error({ v: 1, id: 11, type: 'load', file: '/nonexistent/fix.js', deadline: Date.now() + 60_000.25 });
    assert.deepEqual({ id, code }, { id: 11, code: 'ERR_LP_PATCH_NOT_FOUND' });
  });

  test('the symbols of a module that is not loaded', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 10, type: 'symbols', module: 'src/none.js' }), { id: 10, ok: false, code: 'ERR_LP_NO_MODULE', detail: 'src/none.js' });
  });

  test('a write to no entry of the state tree', LIMIT, async () => {
    assert.deepEqual(await error({ v: 1, id: 8, type: 'sys-write', path: 'x/enabled', value: '0' }), { id: 8, ok: false, code: 'ERR_LP_NO_ENTRY', detail: 'livepatch/x/enabled' });
  });

  // After every error above.
  test('the connection survives the errors', LIMIT, async () => {
    conn.send({ v: 1, id: 9, type: 'transition' });
    assert.deepEqual(await conn.next(), { v: 1, id: 9, ok: true, result: null });
  });

  test('a header announcing more than 1 MiB is refused before its body arrives, and the connection closed', LIMIT, async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2 << 20);
    conn.sendBytes(header);
    const oversized = await conn.next();
    assert.equal(oversized.error.code, 'ERR_LP_PROTOCOL');
    assert.equal(oversized.error.detail, `frame of ${2 << 20} bytes exceeds the limit of ${1 << 20}`);
    await conn.closed;
  });
});

test('the socket never keeps a process alive, and its files go away at exit', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  // A program that lives for a few turns, with its socket open, then ends by itself.
  const { code, stdout } = await runNode(SERVER.replace('server.js', 'turns.js'), { env: { LIVEPATCH_RUNTIME_DIR: dir }, timeout: 10_000 });
  assert.equal(code, 0);
  assert.equal(stdout, 'socket was open\n');
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('LIVEPATCH_CONTROL=false serves no control socket, as 0 does', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  for (const off of ['false', '0']) {
    const { stdout } = await runNode(SERVER.replace('server.js', 'turns.js'), { env: { LIVEPATCH_RUNTIME_DIR: dir, LIVEPATCH_CONTROL: off }, timeout: 10_000 });
    assert.equal(stdout, 'no socket\n', off);
  }
});

test('a process that ends at once exits as it would without livepatch, and leaves nothing in the runtime directory', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const { code, stdout } = await runNode(SERVER.replace('server.js', 'lazy.js'), { env: { LIVEPATCH_RUNTIME_DIR: dir }, timeout: 10_000 });
  assert.equal(code, 0);
  assert.equal(stdout, '');
  // Its socket opens on its first turn of the event loop, if it has one.
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
});

test('a connection never keeps a process alive: a program ends by itself while log -f follows it', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir, { script: SERVER.replace('server.js', 'brief.js') });
  const follower = cli(['log', '-f', '-p', String(app.pid)], { dir });
  assert.deepEqual(await app.exited, { code: 0, signal: null });
  assert.deepEqual(await follower, { code: 0, stdout: '', stderr: '' });
  assert.deepEqual(fs.readdirSync(dir), []);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`a process killed by ${signal} with the default handler still dies by it, and its files go away`, LIMIT, async (t) => {
    const dir = runtimeDir(t);
    const app = await startApp(t, dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), [`${app.pid}.sock`, `${app.pid}.token`]);
    app.child.kill(signal);
    assert.deepEqual(await app.exited, { code: null, signal });
    assert.deepEqual(fs.readdirSync(dir), []);
  });
}

test("a program's own SIGTERM handler keeps control: it shuts down gracefully, then the files go away", LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir, { env: { GRACEFUL: '1' } });
  app.child.kill('SIGTERM');
  assert.deepEqual(await app.exited, { code: 0, signal: null });
  assert.match(app.stdout, /graceful shutdown/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a runtime directory open to group or others is refused: the program runs without a socket', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const app = await startApp(t, dir);
  assert.match(app.stderr, new RegExp(`^livepatch: control socket disabled: permission denied: the runtime directory ${dir} has mode 755; it must be 700$`, 'm'));
  assert.deepEqual(fs.readdirSync(dir), []);
  const { code, stderr } = await cli(['ps'], { dir });
  assert.equal(code, 5);
  assert.equal(stderr, `livepatch: permission denied: the runtime directory ${dir} has mode 755; it must be 700\n  hint: run the CLI as the user that owns the process\n`);
});

test('a process of another uid is refused by the CLI with the permission error', LIMIT, async (t) => {
  if (process.getuid() !== 0) {
    t.skip('needs root to run the CLI as uid 65534 (nobody)');
    return;
  }
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const { code, stdout, stderr } = await cli(['list', '-p', String(app.pid)], { dir, uid: 65534, gid: 65534, cwd: '/' });
  assert.equal(stdout, '');
  assert.equal(stderr, `livepatch: permission denied: the runtime directory ${dir} is owned by uid 0, not by uid 65534\n  hint: run the CLI as the user that owns the process\n`);
  assert.equal(code, 5);
  // Even past the directory, the socket itself is closed to others.
  const direct = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', `require('net').createConnection(${JSON.stringify(path.join(dir, `${app.pid}.sock`))}).on('error', (e) => console.log(e.code))`],
      { uid: 65534, gid: 65534, cwd: '/' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out.trim()));
  });
  assert.equal(direct, 'EACCES');
});

test('a process that has gone away: exit code 4, and its stale socket is removed', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  app.child.kill('SIGKILL');
  await app.exited;
  assert.deepEqual(fs.readdirSync(dir).sort(), [`${app.pid}.sock`, `${app.pid}.token`]);

  const { code, stdout, stderr } = await cli(['list', '-p', String(app.pid)], { dir });
  assert.equal(stdout, '');
  assert.equal(stderr, `livepatch: no process ${app.pid}: it is not running\n  hint: list the processes running under livepatch with \`livepatch ps\`\n`);
  assert.equal(code, 4);
  assert.deepEqual(fs.readdirSync(dir), []);

  assert.deepEqual(await cliJson(['info', 'fix', '-p', String(app.pid)], { dir }, 4), {
    error: {
      code: 'ERR_LP_NO_PROCESS', errno: 'ESRCH', message: `no process ${app.pid}: it is not running`,
      hint: 'list the processes running under livepatch with `livepatch ps`', detail: `${app.pid}: it is not running`,
    },
  });
});

test('ps removes the sockets of processes that no longer exist, or whose pid was reused', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const gone = await startApp(t, dir);
  const reused = await startApp(t, dir);
  gone.child.kill('SIGKILL');
  reused.child.kill('SIGKILL');
  await Promise.all([gone.exited, reused.exited]);
  // As if the dead process's pid now belonged to a live process that does not listen: this test's.
  for (const ext of ['sock', 'token']) fs.renameSync(path.join(dir, `${reused.pid}.${ext}`), path.join(dir, `${process.pid}.${ext}`));
  const { processes } = await cliJson(['ps'], { dir });
  assert.deepEqual(processes.map((p) => p.pid), [app.pid]);
  assert.deepEqual(fs.readdirSync(dir).sort(), [`${app.pid}.sock`, `${app.pid}.token`]);
});

test('ps lists a process whose event loop is blocked as not responding, and does not hang on it', LIMIT, async (t) => {
  const dir = runtimeDir(t);
  const app = await startApp(t, dir);
  const busy = await startApp(t, dir, { script: SERVER.replace('server.js', 'busy.js') });
  const rows = (await cli(['ps'], { dir })).stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/));
  const row = (pid) => rows.find((r) => r[0] === String(pid));
  assert.deepEqual(row(app.pid).slice(0, 3), [String(app.pid), process.version, 'per-task']);
  assert.deepEqual(row(busy.pid), [String(busy.pid), '-', '-', '-', `(process ${busy.pid} is not responding on its control socket)`]);
});

/**
 * An environment whose usual runtime directory ($XDG_RUNTIME_DIR/livepatch)
 * someone else prepared with `squat`, and whose home is a fresh directory.
 */
function squatted(t, squat) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-squat-'));
  fs.chmodSync(base, 0o755);
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const usual = path.join(base, 'xdg', 'livepatch');
  fs.mkdirSync(path.join(base, 'xdg'));
  fs.mkdirSync(path.join(base, 'home'));
  squat(usual, base);
  const { LIVEPATCH_RUNTIME_DIR, ...env } = process.env;
  return { usual, fallback: path.join(base, 'home', '.livepatch', 'run'), env: { ...env, XDG_RUNTIME_DIR: path.join(base, 'xdg'), HOME: path.join(base, 'home'), LIVEPATCH_CACHE: '0' } };
}

/** Starts the service in a squatted environment, and checks that it moved to the fallback, said so, and that the CLI finds it there. */
async function assertFallsBack(t, { usual, fallback, env }, why) {
  const child = spawn(process.execPath, ['--import', REGISTER, SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // The warning comes before the socket, but through a pipe that may deliver it after.
  await waitFor(() => fs.existsSync(path.join(fallback, `${child.pid}.sock`)) && stderr.endsWith('\n'), { what: 'the socket in the fallback directory, and the warning' });
  assert.equal(stderr, `livepatch: the runtime directory ${usual} ${why}: another user may have made it to take this process's control socket; using ${fallback} instead (remove ${usual} to use it again)\n`);
  const { code, stdout } = await collect(process.execPath, [CLI, 'list', '--json'], { env });
  assert.deepEqual([code, JSON.parse(stdout).patches], [0, []]);
}

test('a usual runtime directory that belongs to another user is passed over, loudly, for one in the home directory; the CLI follows', { ...LIMIT, skip: process.getuid() !== 0 && 'needs root to give a directory to uid 65534' }, async (t) => {
  const env = squatted(t, (usual) => {
    fs.mkdirSync(usual, { mode: 0o700 });
    fs.chownSync(usual, 65534, 65534);
  });
  await assertFallsBack(t, env, `is owned by uid 65534, not by uid ${process.getuid()}`);
});

test('a usual runtime directory that is a symlink is passed over the same way', LIMIT, async (t) => {
  const env = squatted(t, (usual, base) => {
    fs.mkdirSync(path.join(base, 'elsewhere'), { mode: 0o700 });
    fs.symlinkSync(path.join(base, 'elsewhere'), usual);
  });
  await assertFallsBack(t, env, 'is not a directory');
});
