/**
 * Child process of bench/transition.js, under the real loader with
 * LIVEPATCH_ROOT at the generated directory (per-task mode).
 *
 * mode 'handler': the cost of a patched call while a transition is open.
 *   - `ma.js` is patched and its transition completed: the slot holds the
 *     new version (steady state);
 *   - `mb.js` is patched while task 'holder' is suspended in the old `hold`
 *     of the same patch, so the transition stays open and `mb.add`'s slot
 *     holds the per-task handler. Its calls are timed from a task that has
 *     switched (runs the new version) and from a task that is still in the
 *     old state because it also holds an old `hold` frame (the handler
 *     returns the nop sentinel and the original body runs);
 *   - `mc.js` is instrumented and unpatched, for reference.
 * mode 'latency': (b) enablePatch → transition complete, with no extra
 *   tasks and with N live tasks parked on an await outside patched code
 *   (in uninstrumented code, or inside an instrumented function the patch
 *   does not touch);
 *   (c) from the last blocking frame's exit to completion.
 *
 * argv[2]: JSON { mode, dir, dist, rounds, targetMs, warmupMs, tasks, iterations }
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { childResult, median, nowMs, rotate } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const lp = await import(pathToFileURL(path.join(cfg.dist, 'index.js')).href);
lp.setLogger(() => {});
const url = (file) => pathToFileURL(path.join(cfg.dir, file)).href;
const repl = await import(url('r.js'));
const patchOf = (name, module, add, hold) => ({
  name,
  objects: [{ module, funcs: [{ oldName: 'add', newFunc: add }, { oldName: 'hold', newFunc: hold }] }],
});
const deferred = () => {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
};
const tick = () => new Promise((r) => setImmediate(r));

if (cfg.mode === 'handler') {
  const ma = await import(url('ma.js'));
  const mb = await import(url('mb.js'));
  await lp.enablePatch(patchOf('steady', 'ma.js', repl.addA, repl.holdA));
  await lp.waitForTransition();

  // The holder keeps the transition open.
  const holder = deferred();
  const holding = lp.runTask('holder', () => mb.hold(holder.promise));

  // A task in the old state: it holds an old `hold` frame and runs jobs sent to it.
  const oldGate = deferred();
  const queue = [];
  let wake = null;
  const oldTask = lp.runTask('old-state', async () => {
    const held = mb.hold(oldGate.promise);
    for (;;) {
      while (queue.length) {
        const job = queue.shift();
        if (job.fn === null) return held;
        job.resolve(job.fn());
      }
      await new Promise((r) => (wake = r));
    }
  });
  const inOldTask = (fn) => new Promise((resolve) => {
    queue.push({ fn, resolve });
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  });
  await tick();

  await lp.enablePatch(patchOf('in-transition', 'mb.js', repl.addB, repl.holdB));
  const status = lp.transitionStatus();
  if (!status || status.patch !== 'in-transition' || status.blocking.length < 2) {
    throw new Error(`the transition is not held open: ${JSON.stringify(status)}`);
  }
  const states = Object.fromEntries(lp.listTasks().map((t) => [t.name, t.patchState]));

  const drivers = {};
  for (const v of ['unpatched', 'steady', 'new', 'old']) drivers[v] = (await import(url(`d_${v}.js`)))[`run_${v}`];
  const time = (run, n) => {
    const t0 = nowMs();
    run(n);
    return nowMs() - t0;
  };
  // Where each variant runs: a new (switched) task, or the old-state task.
  const exec = {
    unpatched: (n) => lp.runTask('bench', () => time(drivers.unpatched, n)),
    steady: (n) => lp.runTask('bench', () => time(drivers.steady, n)),
    new: (n) => lp.runTask('bench', () => time(drivers.new, n)),
    old: (n) => inOldTask(() => time(drivers.old, n)),
  };
  // Sanity: each computes the same.
  const results = {};
  for (const v of Object.keys(drivers)) {
    results[v] = v === 'old' ? await inOldTask(() => drivers.old(1000)) : lp.runTask('check', () => drivers[v](1000));
  }
  if (new Set(Object.values(results)).size !== 1) throw new Error(`variants disagree: ${JSON.stringify(results)}`);

  const variants = Object.keys(exec);
  let n = 10_000;
  while ((await exec.steady(n)) < 5) n *= 4;
  const deadline = nowMs() + cfg.warmupMs;
  do {
    for (const v of variants) await exec[v](n);
  } while (nowMs() < deadline);
  const ms = median([await exec.steady(n), await exec.steady(n), await exec.steady(n)]);
  n = Math.max(10_000, Math.round((n * cfg.targetMs) / ms));

  const samples = Object.fromEntries(variants.map((v) => [v, []]));
  const rounds = [];
  for (let r = 0; r < cfg.rounds; r++) {
    const round = {};
    for (const v of rotate(variants, r)) {
      round[v] = ((await exec[v](n)) * 1e6) / n;
      samples[v].push(round[v]);
    }
    rounds.push(round);
  }
  const stillOpen = lp.transitionStatus()?.patch === 'in-transition';

  queue.push({ fn: null });
  wake?.();
  oldGate.resolve();
  holder.resolve();
  await oldTask;
  await holding;
  await lp.waitForTransition();
  childResult({ samples, rounds, iterations: n, states, stillOpen });
} else {
  const mt = await import(url('mt.js'));
  let seq = 0;
  const def = () => patchOf(`lat-${seq++}`, 'mt.js', repl.addT, repl.holdT);

  async function enableLatency() {
    const d = def();
    const t0 = nowMs();
    await lp.enablePatch(d);
    await lp.waitForTransition();
    const t1 = nowMs();
    if (mt.add(1, 2) !== 3 || lp.patchInfo(d.name)?.transition) throw new Error('patch not applied');
    await tick();
    const u0 = nowMs();
    await lp.disablePatch(d.name);
    await lp.waitForTransition();
    const u1 = nowMs();
    return [t1 - t0, u1 - u0];
  }

  async function exitLatency() {
    const d = def();
    const gate = deferred();
    const holding = lp.runTask('holder', () => mt.hold(gate.promise));
    await tick();
    await lp.enablePatch(d);
    const status = lp.transitionStatus();
    if (!status || status.blocking.length !== 1) throw new Error(`expected one blocking task: ${JSON.stringify(status)}`);
    await tick();
    gate.resolve();
    await lp.waitForTransition();
    const t1 = performance.now();
    const exitAt = globalThis.__benchExitAt;
    await holding;
    await lp.disablePatch(d.name);
    await lp.waitForTransition();
    return t1 - exitAt;
  }

  const out = {};
  async function phase(label) {
    for (let i = 0; i < 2; i++) {
      await enableLatency();
      await exitLatency();
    }
    const enable = [];
    const disable = [];
    const exit = [];
    for (let i = 0; i < cfg.iterations; i++) {
      const [e, d] = await enableLatency();
      enable.push(e);
      disable.push(d);
      exit.push(await exitLatency());
    }
    out[label] = { enable, disable, exit, tasks: lp.listTasks().length };
  }

  await phase('noTasks');
  // Tasks parked on an await in code that is not instrumented at all.
  const park = deferred();
  let t0 = nowMs();
  for (let i = 0; i < cfg.tasks; i++) lp.runTask(`parked-${i}`, async () => { await park.promise; });
  const createMs = { parkedPlain: nowMs() - t0 };
  await tick();
  await phase('parkedPlain');
  park.resolve();
  await tick();
  // Tasks parked inside an instrumented async function of a module the
  // patches do not touch: each holds a live frame, so each is tracked.
  const mw = await import(url('mw.js'));
  const park2 = deferred();
  t0 = nowMs();
  const parked = [];
  for (let i = 0; i < cfg.tasks; i++) parked.push(lp.runTask(`parked-in-${i}`, () => mw.wait(park2.promise)));
  createMs.parkedInstr = nowMs() - t0;
  await tick();
  await phase('parkedInstr');
  park2.resolve();
  await Promise.all(parked);
  childResult({ ...out, createMs });
}
