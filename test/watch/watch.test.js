// One process converging to a patch directory: what it takes from the
// directory and when (never a half-written file, a new version of a file,
// a file gone), what it leaves as it is (an operator's unload, a patch a
// later cumulative one replaced), and a directory that cannot be read, in
// which the program keeps serving. Then a process that trusts a signing
// key: an unsigned file is refused and retried with backoff until its
// signature arrives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { sleep, suiteContext } from '../helpers.js';
import { cliJson, cliOk, get, hold, patch, runtimeDir, startApp } from '../control/support.js';
import { entry, greetPatch, readStatus, scratch, statusWhen } from './support.js';

/** A few scans' time: long enough for the process to have taken anything it would take. */
const SCANS_MS = 1200;

/** Writes `text` as `dir/name` the way deploy tools do: to a temporary name in the directory, then renamed into place. */
function deploy(dir, name, text) {
  const temporary = path.join(dir, `.${name}.tmp`);
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, path.join(dir, name));
}

const applied = (name, file = 'patch.js') => (s) => entry(s, file)?.name === name && entry(s, file).state === 'applied';

describe('a process converging to a patch directory', () => {
  const suite = suiteContext();
  let rt;
  let dir;
  let app;
  before(async () => {
    const base = scratch(suite);
    rt = runtimeDir(suite);
    dir = path.join(base, 'patches');
    fs.mkdirSync(dir);
    app = await startApp(suite, rt, { env: { LIVEPATCH_WATCH_DIR: dir } });
  });

  test('an empty directory: nothing to apply, and the status file says so next to the control socket', async () => {
    const status = await statusWhen(rt, app.pid, (s) => s.state === 'applied', 'the first status');
    assert.deepEqual([status.pid, status.dir, status.patches], [app.pid, dir, []]);
    assert.ok(fs.existsSync(path.join(rt, `${app.pid}.sock`)));
    assert.equal(fs.statSync(path.join(rt, `${app.pid}.status.json`)).mode & 0o777, 0o600);
  });

  test('a half-written file is never loaded; renamed into place whole, it is', async () => {
    const source = greetPatch('w1', 'w1');
    const half = source.slice(0, source.length / 2);
    const temporary = path.join(dir, '.patch.js.tmp');
    fs.writeFileSync(temporary, half);
    fs.writeFileSync(path.join(dir, 'patch.js.part'), half);
    fs.writeFileSync(path.join(dir, 'patch.js~'), half);
    await sleep(SCANS_MS);
    assert.deepEqual(readStatus(rt, app.pid).patches, []);
    assert.doesNotMatch(app.stderr, /watch: loading/);
    assert.equal(await get(app.port, '/greet'), 'hello world');

    fs.appendFileSync(temporary, source.slice(half.length));
    fs.renameSync(temporary, path.join(dir, 'patch.js'));
    await statusWhen(rt, app.pid, applied('w1'), 'w1 applied');
    assert.equal(await get(app.port, '/greet'), 'w1 world');
    assert.deepEqual(app.stderr.match(/watch: loading .*/g), [`watch: loading patch.js (${source.length} bytes)`]);
  });

  test('a new version of the file replaces the patch of the one before', async () => {
    deploy(dir, 'patch.js', greetPatch('w2', 'w2'));
    await statusWhen(rt, app.pid, applied('w2'), 'w2 applied');
    assert.equal(await get(app.port, '/greet'), 'w2 world');
    const { patches } = await cliJson(['list'], { dir: rt });
    assert.deepEqual(patches.map((p) => p.name), ['w2']);
  });

  test("an operator's unload stands until the file changes", async () => {
    await cliOk(['unload', 'w2'], { dir: rt });
    const status = await statusWhen(rt, app.pid, (s) => entry(s, 'patch.js').state === 'unapplied', 'w2 unapplied');
    assert.match(entry(status, 'patch.js').note, /^unloaded from outside the watch/);
    await sleep(SCANS_MS);
    assert.equal(entry(readStatus(rt, app.pid), 'patch.js').state, 'unapplied');
    assert.equal(await get(app.port, '/greet'), 'hello world');

    deploy(dir, 'patch.js', greetPatch('w3', 'w3'));
    await statusWhen(rt, app.pid, applied('w3'), 'w3 applied');
    assert.equal(await get(app.port, '/greet'), 'w3 world');
  });

  test('a later cumulative patch replaces the file before it; when it goes, the one before comes back', async () => {
    deploy(dir, 'zz.js', greetPatch('w-zz', 'zz'));
    const status = await statusWhen(rt, app.pid, (s) => applied('w-zz', 'zz.js')(s) && entry(s, 'patch.js').state === 'unapplied', 'zz.js over patch.js');
    assert.equal(entry(status, 'patch.js').note, "replaced by the cumulative patch 'w-zz'");
    assert.equal(status.state, 'unapplied');
    assert.equal(await get(app.port, '/greet'), 'zz world');

    fs.rmSync(path.join(dir, 'zz.js'));
    await statusWhen(rt, app.pid, (s) => applied('w3')(s) && s.patches.length === 1, 'w3 applied again');
    assert.equal(await get(app.port, '/greet'), 'w3 world');
  });

  test('a directory that cannot be read is check-failed; what runs stays, and the program serves; back, it converges', async () => {
    fs.renameSync(dir, `${dir}.away`);
    const status = await statusWhen(rt, app.pid, (s) => s.state === 'check-failed', 'check-failed');
    assert.equal(status.error.code, 'ERR_LP_WATCH_DIR');
    assert.match(status.error.message, /^the patch directory cannot be read: .*patches: ENOENT/);
    assert.equal(await get(app.port, '/greet'), 'w3 world');

    fs.renameSync(`${dir}.away`, dir);
    const back = await statusWhen(rt, app.pid, (s) => s.state === 'applied', 'applied again');
    assert.equal(back.error, undefined);
  });

  test('a file removed: its patch is unloaded', async () => {
    fs.rmSync(path.join(dir, 'patch.js'));
    await statusWhen(rt, app.pid, (s) => s.patches.length === 0, 'no patches');
    const { patches } = await cliJson(['list'], { dir: rt });
    assert.deepEqual(patches, []);
    assert.equal(await get(app.port, '/greet'), 'hello world');
  });

  test('a transition a task blocks: the patch is applying, and ps --all names the task', async () => {
    const held = await hold(app);
    fs.copyFileSync(patch('fix-hold.ts'), path.join(dir, '.fix-hold.ts.tmp'));
    fs.renameSync(path.join(dir, '.fix-hold.ts.tmp'), path.join(dir, 'fix-hold.ts'));
    await statusWhen(rt, app.pid, (s) => entry(s, 'fix-hold.ts')?.name === 'fix-hold' && entry(s, 'fix-hold.ts').state === 'applying', 'fix-hold applying');
    const { processes: [row] } = await cliJson(['ps', '--all'], { dir: rt });
    assert.deepEqual(row.patches.map((p) => [p.name, p.state, p.origin]), [['fix-hold', 'applying', 'watch:fix-hold.ts']]);
    assert.deepEqual([row.transition.patch, row.transition.target], ['fix-hold', 'patched']);
    assert.deepEqual(row.transition.blocking.map((b) => [b.name, b.function]), [['GET /hold', 'src/server.js:handleHold']]);
    const { stdout } = await cliOk(['ps', '--all'], { dir: rt });
    assert.match(stdout, new RegExp(`^${app.pid}: 'fix-hold' in transition to patched, \\d+/\\d+ tasks switched, blocked by:\nTASK +NAME +SUSPENDED IN\n\\d+ +GET /hold +src/server\\.js:handleHold$`, 'm'));

    assert.equal(await get(app.port, '/release'), 'released 1');
    assert.equal(await held.response, 'held');
    await statusWhen(rt, app.pid, applied('fix-hold', 'fix-hold.ts'), 'fix-hold applied');
  });

  test('the status file goes with the process, even one that was killed', async () => {
    app.child.kill('SIGKILL');
    await app.exited;
    assert.ok(fs.existsSync(path.join(rt, `${app.pid}.status.json`)));
    await cliOk(['ps'], { dir: rt });
    assert.ok(!fs.existsSync(path.join(rt, `${app.pid}.status.json`)));
  });
});

describe('a process that trusts a signing key, converging to a patch directory', () => {
  const suite = suiteContext();
  let rt;
  let dir;
  let staging;
  let keys;
  let app;
  before(async () => {
    const base = scratch(suite);
    rt = runtimeDir(suite);
    dir = path.join(base, 'patches');
    staging = path.join(base, 'staging');
    fs.mkdirSync(dir);
    fs.mkdirSync(staging);
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    keys = { key: path.join(base, 'key.pem'), pub: path.join(base, 'key.pub') };
    fs.writeFileSync(keys.key, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    fs.writeFileSync(keys.pub, publicKey.export({ type: 'spki', format: 'pem' }));
    app = await startApp(suite, rt, { env: { LIVEPATCH_WATCH_DIR: dir, LIVEPATCH_TRUSTED_KEY: keys.pub } });
  });

  /** Signs `text` in the staging directory and returns the signature's bytes. */
  async function signed(text) {
    const file = path.join(staging, 'patch.js');
    fs.writeFileSync(file, text);
    await cliOk(['sign', file, '--key', keys.key], { dir: rt });
    return fs.readFileSync(`${file}.sig`);
  }

  test('an unsigned file is check-failed and retried with backoff, the program serving; once its signature arrives, it applies', async () => {
    const source = greetPatch('s1', 's1');
    deploy(dir, 'patch.js', source);
    const first = await statusWhen(rt, app.pid, (s) => entry(s, 'patch.js')?.state === 'check-failed', 'check-failed');
    assert.equal(first.state, 'check-failed');
    assert.equal(entry(first, 'patch.js').error.code, 'ERR_LP_UNSIGNED');
    const again = await statusWhen(rt, app.pid, (s) => entry(s, 'patch.js').attempts >= 2, 'a second attempt');
    const { retryAt, since } = entry(again, 'patch.js');
    assert.ok(retryAt > since);
    assert.equal(await get(app.port, '/greet'), 'hello world');

    deploy(dir, 'patch.js.sig', await signed(source));
    await statusWhen(rt, app.pid, applied('s1'), 's1 applied');
    assert.equal(await get(app.port, '/greet'), 's1 world');
  });

  test('a new version whose signature does not verify is refused, and the signed one before keeps running', async () => {
    const signature = await signed(greetPatch('s2', 's2'));
    deploy(dir, 'patch.js.sig', signature);
    deploy(dir, 'patch.js', `${greetPatch('s2', 's2')}// changed after it was signed\n`);
    const status = await statusWhen(rt, app.pid, (s) => entry(s, 'patch.js')?.error?.code === 'ERR_LP_BAD_SIGNATURE', 'bad signature');
    assert.deepEqual([entry(status, 'patch.js').state, entry(status, 'patch.js').name], ['check-failed', 's1']);
    assert.equal(await get(app.port, '/greet'), 's1 world');
  });
});

test('a process started on a directory that holds a patch applies it before its entry module: its first request runs the patch', async (t) => {
  const dir = path.join(scratch(t), 'patches');
  fs.mkdirSync(dir);
  deploy(dir, 'patch.js', greetPatch('boot', 'boot'));
  // Settled: unchanged for longer than the watch waits (200 ms), as a file is that was there before the process.
  await sleep(400);
  const app = await startApp(t, runtimeDir(t), { env: { LIVEPATCH_WATCH_DIR: dir } });
  assert.equal(await get(app.port, '/greet'), 'boot world');
  assert.match(app.stderr, /^livepatch: applying patch 'boot' to loading module 'src\/server\.js'$/m);
});

test('a module that loads after the patch and does not take it loads without it, serves, and the patch is apply-failed', async (t) => {
  const dir = path.join(scratch(t), 'patches');
  fs.mkdirSync(dir);
  fs.copyFileSync(patch('fix-lazy-stale.js'), path.join(dir, 'fix-lazy-stale.js'));
  const rt = runtimeDir(t);
  const app = await startApp(t, rt, { env: { LIVEPATCH_WATCH_DIR: dir } });
  // src/lazy.js is not loaded yet: the patch is taken, to apply when it loads.
  await statusWhen(rt, app.pid, applied('fix-lazy-stale', 'fix-lazy-stale.js'), 'fix-lazy-stale applied');
  assert.equal(await get(app.port, '/lazy'), 'lazy original');
  const status = await statusWhen(rt, app.pid, (s) => entry(s, 'fix-lazy-stale.js').state === 'apply-failed', 'apply-failed');
  const { error, name } = entry(status, 'fix-lazy-stale.js');
  assert.deepEqual([error.code, error.object, name], ['ERR_LP_HASH_MISMATCH', 'src/lazy.js', null]);
  assert.equal(await get(app.port, '/lazy'), 'lazy original');
  const { patches } = await cliJson(['list'], { dir: rt });
  assert.deepEqual(patches, []);
});
