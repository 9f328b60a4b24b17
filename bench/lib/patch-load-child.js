/**
 * Child process of bench/patch-load.js.
 *
 * mode 'livepatch' (under the real loader): for each iteration, a fresh
 * TypeScript patch file (new file, new patch name) that fixes `price` in
 * the small module or in the big one is loaded with the host API:
 * `loadPatch(file)`, `waitForTransition()`, then the first call that sees
 * the new code. Then the patch is disabled again (timed separately), so
 * every load starts from the unpatched state.
 *
 * mode 'liveedit' (no livepatch): V8 LiveEdit through an in-process
 * `inspector.Session`: `Debugger.setScriptSource` with the module's source
 * where the buggy line is replaced by the fixed one, then the first call.
 * The revert (the original source) is applied between iterations.
 *
 * argv[2]: JSON { mode, dir, dist, targets: [{ name, file, module, iterations }], order }
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { childResult, nowMs } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const BUGGY = 'return qty * unit - 1; // BUG';
const FIXED = 'return qty * unit;     // FIX';

const targets = [];
for (const t of cfg.targets) {
  const url = pathToFileURL(path.join(cfg.dir, t.file)).href;
  const mod = await import(url);
  if (mod.price(3, 5) !== 14) throw new Error(`${t.file}: unexpected original behaviour`);
  targets.push({ ...t, url, mod, samples: [], parts: { load: [], transition: [], call: [] }, undo: [], first: null });
}

/** The iteration schedule: targets interleaved, each `iterations` times (plus one first, cold load). */
function schedule() {
  const list = [];
  const left = Object.fromEntries(targets.map((t) => [t.name, t.iterations + 1]));
  for (let more = true; more;) {
    more = false;
    for (const t of targets) {
      if (left[t.name]-- > 0) {
        list.push(t);
        more = true;
      }
    }
  }
  return list;
}

if (cfg.mode === 'livepatch') {
  const lp = await import(pathToFileURL(path.join(cfg.dist, 'index.js')).href);
  lp.setLogger(() => {});
  const patchDir = path.join(cfg.dir, 'patches', String(process.pid));
  fs.mkdirSync(patchDir, { recursive: true });
  let n = 0;
  for (const t of schedule()) {
    const name = `fix-${t.name}-${process.pid}-${n++}`;
    const file = path.join(patchDir, `${name}.ts`);
    fs.writeFileSync(file, `import { definePatch } from 'livepatch';

export default definePatch({
  name: '${name}',
  objects: [{
    module: '${t.module}',
    funcs: [{ oldName: 'price', newFunc: (self: unknown, qty: number, unit: number): number => qty * unit }],
  }],
});
`);
    const t0 = nowMs();
    await lp.loadPatch(file);
    const t1 = nowMs();
    await lp.waitForTransition();
    const t2 = nowMs();
    const v = t.mod.price(3, 5);
    const t3 = nowMs();
    if (v !== 15) throw new Error(`${name}: the first call after loading ran old code (${v})`);
    const u0 = nowMs();
    await lp.disablePatch(name);
    await lp.waitForTransition();
    const u1 = nowMs();
    if (t.mod.price(3, 5) !== 14) throw new Error(`${name}: still patched after disabling`);
    if (t.first === null) {
      t.first = t3 - t0;
      continue;
    }
    t.samples.push(t3 - t0);
    t.parts.load.push(t1 - t0);
    t.parts.transition.push(t2 - t1);
    t.parts.call.push(t3 - t2);
    t.undo.push(u1 - u0);
  }
  fs.rmSync(patchDir, { recursive: true, force: true });
} else {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => {
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const scripts = new Map();
  session.on('Debugger.scriptParsed', (m) => scripts.set(m.params.url, m.params.scriptId));
  const e0 = nowMs();
  await post('Debugger.enable');
  const enableMs = nowMs() - e0;
  for (const t of targets) {
    t.scriptId = scripts.get(t.url);
    if (!t.scriptId) throw new Error(`no script id for ${t.url}`);
    t.original = (await post('Debugger.getScriptSource', { scriptId: t.scriptId })).scriptSource;
    if (!t.original.includes(BUGGY)) throw new Error(`${t.file}: the buggy line is not in the live source`);
    t.fixed = t.original.replace(BUGGY, FIXED);
  }
  for (const t of schedule()) {
    const t0 = nowMs();
    const res = await post('Debugger.setScriptSource', { scriptId: t.scriptId, scriptSource: t.fixed });
    const t1 = nowMs();
    const v = t.mod.price(3, 5);
    const t2 = nowMs();
    if (res.status && res.status !== 'Ok') throw new Error(`setScriptSource: ${res.status}`);
    if (res.exceptionDetails) throw new Error(`setScriptSource: ${JSON.stringify(res.exceptionDetails)}`);
    if (v !== 15) throw new Error(`${t.file}: LiveEdit did not take effect (${v})`);
    const u0 = nowMs();
    await post('Debugger.setScriptSource', { scriptId: t.scriptId, scriptSource: t.original });
    const u1 = nowMs();
    if (t.mod.price(3, 5) !== 14) throw new Error(`${t.file}: revert did not take effect`);
    if (t.first === null) {
      t.first = t2 - t0;
      continue;
    }
    t.samples.push(t2 - t0);
    t.parts.load.push(t1 - t0);
    t.parts.call.push(t2 - t1);
    t.undo.push(u1 - u0);
  }
  session.disconnect();
  targets.enableMs = enableMs;
}

childResult({
  mode: cfg.mode,
  enableMs: targets.enableMs ?? null,
  targets: Object.fromEntries(targets.map((t) => [t.name, {
    bytes: fs.statSync(path.join(cfg.dir, t.file)).size, first: t.first, samples: t.samples, parts: t.parts, undo: t.undo,
  }])),
});
