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
import { cliJson, get, LIMIT, patch, runtimeDir, startApp } from './support.js';

/** A scratch directory for the test's files, removed after it. */
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-files-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('files that are not patch modules', () => {
  const suite = suiteContext();
  let dir;
  let app;
  let files;
  before(async () => {
    dir = runtimeDir(suite);
    app = await startApp(suite, dir);
    files = scratch(suite);
  }, LIMIT);
  const assertRefused = async (file, detail) => {
    const { error } = await cliJson(['load', file], { dir }, 1);
    assert.deepEqual({ code: error.code, detail: error.detail }, { code: 'ERR_LP_PATCH_LOAD', detail: `${file}: ${detail}` });
    assert.equal(await get(app.port, '/greet'), 'hello world');
  };

  test('a character device, /dev/zero, is refused before it is read', LIMIT, async () => {
    await assertRefused('/dev/zero', 'it is not a regular file but a character device');
  });

  test('a FIFO is refused at once, however often, and never holds a thread: a patch loads after five of them', LIMIT, async () => {
    const fifo = path.join(files, 'fix.js');
    execFileSync('mkfifo', [fifo]);
    for (let i = 0; i < 5; i++) await assertRefused(fifo, 'it is not a regular file but a FIFO');
    await cliJson(['load', patch('fix-greet.js')], { dir });
    assert.equal(await get(app.port, '/greet'), 'patched hello world');
    await cliJson(['unload', 'fix-greet'], { dir });
  });

  test('a directory is refused', LIMIT, async () => {
    await assertRefused(files, 'it is not a regular file but a directory');
  });

  test('a file larger than 4 MiB is refused before it is read', LIMIT, async () => {
    const big = path.join(files, 'big.js');
    fs.writeFileSync(big, Buffer.alloc((4 << 20) + 1, 0x20));
    await assertRefused(big, `it is ${(4 << 20) + 1} bytes, more than the ${4 << 20} a patch file may be`);
  });
});
