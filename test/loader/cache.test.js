// The transform cache: a cold start writes one entry per instrumented
// module, a warm start runs the verified entry instead of instrumenting
// again, and an entry that does not verify (corrupted, cut short, stale,
// another module's) is a miss that is rebuilt with one warning. An
// unwritable or full cache only costs speed, and leaves no files behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { collect, REGISTER, runOk, suiteContext, transcript } from '../helpers.js';

function app(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"cache-app","type":"module"}');
  fs.writeFileSync(path.join(dir, 'lib.js'), 'export function value() { return "from source"; }\n');
  fs.writeFileSync(path.join(dir, 'dep.cjs'), 'exports.n = function () { return 1; };\n');
  fs.writeFileSync(path.join(dir, 'main.js'), 'import { value } from "./lib.js";\nimport dep from "./dep.cjs";\nconsole.log(value(), dep.n());\n');
  return dir;
}

const entries = (cache) => (fs.existsSync(cache) ? fs.readdirSync(cache).filter((f) => f.endsWith('.lp')).sort() : []);
/** The entry of the module whose code contains `text`. */
const entryWith = (cache, text) => entries(cache).map((f) => path.join(cache, f)).find((f) => fs.readFileSync(f, 'utf8').includes(text));
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** Rewrites an entry's code, and re-signs its header so that it verifies. */
function rewriteVerified(file, edit) {
  const text = fs.readFileSync(file, 'utf8');
  const newline = text.indexOf('\n');
  const header = JSON.parse(text.slice(0, newline));
  const code = edit(text.slice(newline + 1));
  fs.writeFileSync(file, `${JSON.stringify({ ...header, codeHash: sha256(`${header.moves.join(',')}\n${code}`) })}\n${code}`);
}

/** Starts the application against `cache`; resolves with its output and its livepatch warnings. */
async function start(dir, cache) {
  const { stdout, stderr } = await runOk(path.join(dir, 'main.js'), { env: { LIVEPATCH_CACHE: cache, LIVEPATCH_DEBUG: '0' } });
  return { output: stdout.trim(), warnings: transcript(stderr) };
}

// One application and its cache: a cold start, a warm start, then an edit;
// the tests run in that order, each on the cache the one before left.
describe('one application started cold, warm, and after an edit', () => {
  const suite = suiteContext();
  let dir;
  let cache;
  let cold;
  before(() => {
    dir = app(suite);
    cache = path.join(dir, 'cache');
  });

  test('a cold start writes one entry per instrumented module', async () => {
    assert.deepEqual(await start(dir, cache), { output: 'from source 1', warnings: [] });
    cold = entries(cache);
    assert.equal(cold.length, 3, 'main.js, lib.js and dep.cjs');
  });

  test('a warm start runs the cached code, and writes nothing', async () => {
    // Prove the warm start uses the entry: an entry that verifies, with other code.
    rewriteVerified(entryWith(cache, '"from source"'), (code) => code.replace('"from source"', '"from cache"'));
    assert.deepEqual(await start(dir, cache), { output: 'from cache 1', warnings: [] });
    assert.deepEqual(entries(cache), cold, 'no new entries on a warm start');
  });

  test('a changed source is a miss: a new entry, the new code', async () => {
    fs.writeFileSync(path.join(dir, 'lib.js'), 'export function value() { return "edited"; }\n');
    assert.deepEqual(await start(dir, cache), { output: 'edited 1', warnings: [] });
    assert.equal(entries(cache).length, 4);
  });
});

/**
 * Damages lib.js's entry with `damage`, then starts the application: it must
 * run the source's code, warn once naming the entry, and leave an entry that
 * verifies again (the next start runs with no warning).
 */
async function assertRebuilt(t, damage) {
  const dir = app(t);
  const cache = path.join(dir, 'cache');
  await start(dir, cache);
  const entry = entryWith(cache, '"from source"');
  await damage(entry, cache, dir);
  assert.deepEqual(await start(dir, cache), {
    output: 'from source 1',
    warnings: [`livepatch: transform cache entry ${entry} for 'lib.js' does not verify; it is rebuilt`],
  });
  assert.deepEqual(await start(dir, cache), { output: 'from source 1', warnings: [] }, 'the rebuilt entry verifies');
}

test('a corrupted entry (one flipped bit in its code) is rebuilt, not run', async (t) => {
  await assertRebuilt(t, (entry) => {
    const bytes = fs.readFileSync(entry);
    const at = bytes.indexOf('from source');
    bytes[at] ^= 0x01;
    fs.writeFileSync(entry, bytes);
  });
});

test('a truncated entry is rebuilt, not run', async (t) => {
  await assertRebuilt(t, (entry) => fs.truncateSync(entry, Math.floor(fs.statSync(entry).size * 0.6)));
});

test('a stale entry (built from an older source, under the new source\'s name) is rebuilt, not run', async (t) => {
  await assertRebuilt(t, (entry, cache, dir) => {
    // Build the older source's entry, then put it where the current one is.
    const current = fs.readFileSync(path.join(dir, 'lib.js'), 'utf8');
    fs.writeFileSync(path.join(dir, 'lib.js'), 'export function value() { return "older"; }\n');
    const stale = path.join(dir, 'stale-cache');
    return runOk(path.join(dir, 'main.js'), { env: { LIVEPATCH_CACHE: stale } }).then(() => {
      fs.copyFileSync(entryWith(stale, '"older"'), entry);
      fs.writeFileSync(path.join(dir, 'lib.js'), current);
    });
  });
});

test('a foreign entry (another module\'s, under this module\'s name) is rebuilt, not run', async (t) => {
  await assertRebuilt(t, (entry, cache) => fs.copyFileSync(entryWith(cache, 'exports.n'), entry));
});

test('an unwritable cache directory does not break the program; one warning says so', async (t) => {
  const dir = app(t);
  const blocker = path.join(dir, 'not-a-dir');
  fs.writeFileSync(blocker, '');
  const cache = path.join(blocker, 'cache');
  const { output, warnings } = await start(dir, cache);
  assert.equal(output, 'from source 1');
  assert.deepEqual(warnings, [`livepatch: transform cache ${cache} is not writable (ENOTDIR); modules are instrumented at every start`]);
});

test('a cache on a full disk leaves no files behind, and the program runs', async (t) => {
  const dir = app(t);
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  // A file-size limit makes every entry's write fail, as a full disk does.
  const script = `ulimit -f 0; exec "${process.execPath}" --import "${REGISTER}" main.js`;
  const { code, stdout, stderr } = await collect('bash', ['-c', script], {
    cwd: dir, env: { ...process.env, LIVEPATCH_CACHE: cache, LIVEPATCH_COMPILE_CACHE: '0', LIVEPATCH_CONTROL: '0', LIVEPATCH_DEBUG: '0' },
  });
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), 'from source 1');
  assert.deepEqual(transcript(stderr), [`livepatch: transform cache ${cache} is not writable (EFBIG); modules are instrumented at every start`]);
  assert.deepEqual(fs.readdirSync(cache), []);
});
