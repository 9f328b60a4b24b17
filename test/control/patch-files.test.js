// What `load` reads: only a regular file of bounded size, opened so that
// neither a FIFO nor a device can hold the process, and refused with a
// coded error before a byte of it is read. The process serves on.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { suiteContext } from '../helpers.js';
import { APP_ROOT, cliJson, get, LIMIT, patch, runtimeDir, startApp } from './support.js';

/** A scratch directory for the test's files, removed after it. */
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-files-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * In a describe block: the fixture service in its own runtime directory,
 * and a scratch directory, ready once its tests start.
 */
function serviceWithScratch() {
  const suite = suiteContext();
  const fx = {};
  before(async () => {
    fx.dir = runtimeDir(suite);
    fx.app = await startApp(suite, fx.dir);
    fx.files = scratch(suite);
  }, LIMIT);
  return fx;
}

/** Loads `file` and checks that it is refused with `error`'s code and message or detail, and that the service runs unpatched. */
async function assertLoadRefused(fx, file, exitCode, error) {
  const { error: { code, message, detail } } = await cliJson(['load', file], { dir: fx.dir }, exitCode);
  assert.deepEqual({ code, ...(error.message ? { message } : { detail }) }, error);
  assert.equal(await get(fx.app.port, '/greet'), 'hello world');
}

/** Loads fix-greet from `file`, checks that it serves, and unloads it. */
async function assertLoads(fx, file) {
  await cliJson(['load', file], { dir: fx.dir });
  assert.equal(await get(fx.app.port, '/greet'), 'patched hello world');
  await cliJson(['unload', 'fix-greet'], { dir: fx.dir });
}

describe('files that are not patch modules', () => {
  const fx = serviceWithScratch();
  const assertRefused = (file, detail) => assertLoadRefused(fx, file, 1, { code: 'ERR_LP_PATCH_LOAD', detail: `${file}: ${detail}` });

  test('a character device, /dev/zero, is refused before it is read', LIMIT, async () => {
    await assertRefused('/dev/zero', 'it is not a regular file but a character device');
  });

  test('a FIFO is refused at once, however often, and never holds a thread: a patch loads after five of them', LIMIT, async () => {
    const fifo = path.join(fx.files, 'fix.js');
    execFileSync('mkfifo', [fifo]);
    for (let i = 0; i < 5; i++) await assertRefused(fifo, 'it is not a regular file but a FIFO');
    await assertLoads(fx, patch('fix-greet.js'));
  });

  test('a directory is refused', LIMIT, async () => {
    await assertRefused(fx.files, 'it is not a regular file but a directory');
  });

  test('a file larger than 4 MiB is refused before it is read', LIMIT, async () => {
    const big = path.join(fx.files, 'big.js');
    fs.writeFileSync(big, Buffer.alloc((4 << 20) + 1, 0x20));
    await assertRefused(big, `it is ${(4 << 20) + 1} bytes, more than the ${4 << 20} a patch file may be`);
  });
});

/** A copy of fix-greet.js in a fresh directory of the scratch one, with `mode`. */
function greetCopy(files, name, mode) {
  fs.mkdirSync(path.join(files, name));
  const file = path.join(files, name, 'fix-greet.js');
  fs.copyFileSync(patch('fix-greet.js'), file);
  fs.chmodSync(file, mode);
  return file;
}

const modeOf = (file) => (fs.statSync(file).mode & 0o777).toString(8);
const asRoot = { skip: process.getuid() !== 0 && 'needs root to give a file to uid 65534 (nobody)', ...LIMIT };

// As OpenSSH refuses an authorized_keys another user could write: a patch
// file, or a directory above it, that someone else may change is refused.
describe('files another user could change', () => {
  const fx = serviceWithScratch();
  const assertUntrusted = (file, detail) => assertLoadRefused(fx, file, 5, { code: 'ERR_LP_UNTRUSTED_FILE', message: `refusing ${detail}` });

  test('a patch file anyone may write is refused, exit 5', LIMIT, async () => {
    const file = greetCopy(fx.files, 'world', 0o666);
    await assertUntrusted(file, `${file}: it is writable by others (mode 666)`);
  });

  test('a patch file its group may write is refused', LIMIT, async () => {
    const file = greetCopy(fx.files, 'group', 0o664);
    await assertUntrusted(file, `${file}: it is writable by its group (mode 664)`);
  });

  test('a patch file in a directory anyone may write is refused, naming the directory', LIMIT, async () => {
    const file = greetCopy(fx.files, 'open-dir', 0o644);
    fs.chmodSync(path.dirname(file), 0o777);
    await assertUntrusted(file, `${path.dirname(file)}: it is a directory writable by others (mode 777)`);
  });

  test('a patch file that belongs to another user is refused', asRoot, async () => {
    const file = greetCopy(fx.files, 'nobody', 0o644);
    fs.chownSync(file, 65534, 65534);
    await assertUntrusted(file, `${file}: it belongs to uid 65534`);
  });

  // Every other test loads its patches from under /tmp: 1777, sticky.
  test('a sticky directory anyone may write, as /tmp, is no reason to refuse: others cannot replace what is ours in it', LIMIT, async () => {
    const sticky = path.join(fx.files, 'sticky');
    fs.mkdirSync(sticky);
    fs.chmodSync(sticky, 0o1777);
    const file = path.join(sticky, 'fix-greet.js');
    fs.copyFileSync(patch('fix-greet.js'), file);
    await assertLoads(fx, file);
  });
});

describe('install: files another user could change are refused, and installed files are ours', () => {
  const suite = suiteContext();
  let files;
  let root;
  let installDir;
  before(() => {
    files = scratch(suite);
    root = path.join(files, 'app');
    fs.cpSync(APP_ROOT, root, { recursive: true });
    installDir = path.join(root, '.livepatch', 'installed');
  });

  test('install refuses a patch file anyone may write, and installs nothing', LIMIT, async () => {
    const file = greetCopy(files, 'install-world', 0o666);
    const { error } = await cliJson(['install', file, '--root', root], {}, 5);
    assert.equal(error.code, 'ERR_LP_UNTRUSTED_FILE');
    assert.equal(fs.existsSync(installDir), false);
  });

  test('an installed patch is 0600 when its original is not readable by others, and nothing else is left behind', LIMIT, async () => {
    const file = greetCopy(files, 'private', 0o600);
    await cliJson(['install', file, '--root', root]);
    assert.deepEqual(fs.readdirSync(installDir), ['fix-greet.js']);
    assert.equal(modeOf(path.join(installDir, 'fix-greet.js')), '600');
    await cliJson(['uninstall', 'fix-greet', '--root', root]);
  });

  test('an installed patch is 0644 when its original is readable by others, and belongs to the installing user', asRoot, async () => {
    const file = greetCopy(files, 'readable', 0o644);
    fs.chownSync(file, 65534, 65534);
    fs.chmodSync(path.dirname(file), 0o755);
    // Owned by another user, the original itself is refused; its copy, made by root, is root's.
    const { error } = await cliJson(['install', file, '--root', root], {}, 5);
    assert.equal(error.code, 'ERR_LP_UNTRUSTED_FILE');
    fs.chownSync(file, 0, 0);
    await cliJson(['install', file, '--root', root]);
    const installed = fs.statSync(path.join(installDir, 'fix-greet.js'));
    assert.deepEqual([modeOf(path.join(installDir, 'fix-greet.js')), installed.uid], ['644', 0]);
  });

  // After the install above.
  test('start-up refuses an installed patch another user took over, and the program starts without it', asRoot, async (t) => {
    const installed = path.join(installDir, 'fix-greet.js');
    fs.chownSync(installed, 65534, 65534);
    const app = await startApp(t, runtimeDir(t), { script: path.join(root, 'src', 'server.js') });
    assert.equal(await get(app.port, '/greet'), 'hello world');
    assert.ok(app.stderr.includes(`livepatch: failed to load installed patch 'fix-greet' (${installed}): refusing ${installed}: it belongs to uid 65534\n`), app.stderr);
  });
});
