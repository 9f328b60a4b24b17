// Support for the patch-directory tests: patch sources for the control
// fixture service, a directory laid out and updated the way the kubelet
// updates a ConfigMap volume, and the status files processes publish.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { sleep } from '../helpers.js';

/** A scratch directory (mode 0700, removed after the test) for the patch directory and its neighbours. */
export function scratch(t, prefix = 'lp-watch-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A cumulative patch of the fixture service's greet(): it answers
 * `<greeting> <name>`. With `oldHash`, only a greet() with that hash takes it.
 */
export function greetPatch(name, greeting, { oldHash, replace = true } = {}) {
  const hash = oldHash ? `oldHash: ${JSON.stringify(oldHash)}, ` : '';
  return `import { definePatch } from 'livepatch';

export default definePatch({
  name: ${JSON.stringify(name)},
  replace: ${replace},
  objects: [{
    module: 'src/server.js',
    funcs: [{ oldName: 'greet', ${hash}newFunc: (self, name) => ${JSON.stringify(`${greeting} `)} + name }],
  }],
});
`;
}

/**
 * A directory the kubelet's way (its AtomicWriter): each version of the
 * ConfigMap is a timestamped directory `..<time>_<n>`, `..data` is a
 * symlink to the current one, swapped by renaming a new symlink over it,
 * and each visible file is a symlink `<name> -> ..data/<name>`.
 */
export function configMapVolume(dir) {
  let version = 0;
  let current = null;
  return {
    publish(files) {
      const stamp = `..2026_11_26_00_00_00.${process.pid}_${version++}`;
      fs.mkdirSync(path.join(dir, stamp), { mode: 0o755 });
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, stamp, name), text, { mode: 0o644 });
      fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
      fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      for (const name of Object.keys(files)) {
        if (!fs.existsSync(path.join(dir, name))) fs.symlinkSync(path.join('..data', name), path.join(dir, name));
      }
      if (current) fs.rmSync(path.join(dir, current), { recursive: true });
      current = stamp;
    },
  };
}

/** The status file of process `pid` in runtime directory `rt`, parsed; null while there is none. */
export function readStatus(rt, pid) {
  try {
    return JSON.parse(fs.readFileSync(path.join(rt, `${pid}.status.json`), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/** Waits until the status of `pid` satisfies `ok`, and returns it; fails with the last status seen. */
export async function statusWhen(rt, pid, ok, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = readStatus(rt, pid);
    if (status && ok(status)) return status;
    if (Date.now() >= deadline) assert.fail(`gave up after ${timeoutMs} ms waiting for ${what}; the status of ${pid}: ${JSON.stringify(status)}`);
    await sleep(25);
  }
}

/** The one patch a status lists for `file`. */
export const entry = (status, file) => status.patches.find((p) => p.file === file);
