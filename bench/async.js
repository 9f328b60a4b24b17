#!/usr/bin/env node
/**
 * Cost of an instrumented async function (issue 4): an awaited call of an
 * instrumented, unpatched async function vs the same function plain, in
 * per-task mode (the default: the driver runs inside `runTask`, so plain
 * code also runs inside an AsyncLocalStorage store and ALS itself is not
 * counted) and in global mode (LIVEPATCH_CONSISTENCY=global, no ALS). Also
 * an async generator (created and drained with `for await`), whose
 * instrumented form registers its frame token with a FinalizationRegistry.
 *
 * Instrumented kernels are produced by the real loader. Plain and
 * instrumented runs alternate inside each process (paired); the modes run
 * in separate, interleaved processes.
 *
 *     node bench/async.js [--quick] [--json]
 */
import path from 'node:path';
import {
  BENCH, DIST, emit, ensureBuilt, envInfo, freshDir, log, main, median, mpm, parseArgs, range, ratio,
  runChild, signedRange, summarize, target, writeFiles,
} from './lib/harness.js';

const KERNELS = [
  {
    name: 'async',
    fn: 'af',
    label: 'async function: await resolved; return v + x',
    source: 'const resolved = Promise.resolve(1);\nexport async function af(x) { const v = await resolved; return v + x; }\n',
    loop: (f) => `let s = 0; for (let i = 0; i < n; i++) s = (s + await ${f}(i)) & 0xfffff; return s;`,
  },
  {
    name: 'asyncInFrame',
    fn: 'af',
    label: 'same, called from an instrumented async caller (task already holds a frame)',
    source: 'const resolved = Promise.resolve(1);\nexport async function af(x) { const v = await resolved; return v + x; }\n',
    loop: (f) => `let s = 0; for (let i = 0; i < n; i++) s = (s + await ${f}(i)) & 0xfffff; return s;`,
    // The instrumented variant's driver is instrumented too: its own frame is
    // live while the loop runs (one enter/leave per timed run, negligible).
    instrumentedDriver: true,
  },
  {
    name: 'asyncNoAwait',
    fn: 'af0',
    label: 'async function without await: return x + 1',
    source: 'export async function af0(x) { return x + 1; }\n',
    loop: (f) => `let s = 0; for (let i = 0; i < n; i++) s = (s + await ${f}(i)) & 0xfffff; return s;`,
  },
  {
    name: 'asyncGen',
    fn: 'ag',
    label: 'async generator: 3 yields, drained with for await',
    source: 'export async function* ag(x) { yield x; yield x + 1; yield x + 2; }\n',
    loop: (f) => `let s = 0; for (let i = 0; i < n; i++) { for await (const v of ${f}(i)) s = (s + v) & 0xfffff; } return s;`,
  },
];

const MODES = [
  { name: 'per-task', label: 'per-task (inside runTask: ALS on for both)', env: { LIVEPATCH_CONSISTENCY: 'per-task' }, inTask: true },
  { name: 'global', label: 'global (LIVEPATCH_CONSISTENCY=global, no ALS)', env: { LIVEPATCH_CONSISTENCY: 'global' }, inTask: false },
];

function generate(dir) {
  const files = {
    'package.json': '{ "name": "bench-async", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({
      include: ['k_instr_*.js', ...KERNELS.filter((k) => k.instrumentedDriver).map((k) => `d_instr_${k.name}.js`)],
      cache: false,
    }) + '\n',
  };
  for (const k of KERNELS) {
    for (const v of ['plain', 'instr']) {
      files[`k_${v}_${k.name}.js`] = k.source;
      files[`d_${v}_${k.name}.js`] = `import { ${k.fn} } from './k_${v}_${k.name}.js';\n` +
        `export async function run_${v}_${k.name}(n) { ${k.loop(k.fn)} }\n`;
    }
  }
  writeFiles(dir, files);
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const q = args.quick;
  const dir = freshDir('async');
  generate(dir);
  const processes = q ? 1 : 5;
  const opts = q ? { rounds: 5, targetMs: 15, warmupMs: 300 } : { rounds: 11, targetMs: 30, warmupMs: 800 };
  const child = path.join(BENCH, 'lib', 'async-child.js');
  const results = Object.fromEntries(MODES.map((m) => [m.name, []]));
  for (let p = 0; p < processes; p++) {
    for (const mode of p % 2 === 0 ? MODES : [...MODES].reverse()) {
      log(`async: ${mode.name} process ${p + 1}/${processes}`);
      const r = await runChild(child, {
        args: [JSON.stringify({ dir, dist: DIST, kernels: KERNELS.map(({ name, fn }) => ({ name, fn })), inTask: mode.inTask, ...opts })],
        register: true,
        env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: '0', ...mode.env },
        cwd: dir,
      });
      if (r.mode !== mode.name) throw new Error(`child ran in ${r.mode} mode, expected ${mode.name}`);
      results[mode.name].push(r);
    }
  }

  const data = {};
  const rows = [];
  for (const mode of MODES) {
    const procs = results[mode.name];
    for (const k of KERNELS) {
      const d = {
        plain: mpm(procs.map((r) => r.samples[`plain_${k.name}`])),
        instr: mpm(procs.map((r) => r.samples[`instr_${k.name}`])),
        delta: summarize(procs.map((r) => median(r.paired[k.name].map(([a, b]) => b - a)))),
        ratio: summarize(procs.map((r) => median(r.paired[k.name].map(([a, b]) => b / a)))),
      };
      data[`${mode.name}.${k.name}`] = d;
      rows.push([mode.name, k.label, range(d.plain), range(d.instr), signedRange(d.delta, 1), ratio(d.ratio)]);
    }
  }
  const alsCost = summarize(results['per-task'].map((r, i) => median(r.samples.plain_async) / median(results.global[i].samples.plain_async)));
  const tables = [{
    title: `Awaited call of an async function (or one async generator, drained): ns per call, median of ${processes} processes × ${opts.rounds} rounds [min–max]`,
    columns: ['mode', 'kernel', 'plain', 'instrumented', 'Δ instr−plain', 'instr/plain'],
    rows,
    notes: [
      `ALS itself (plain awaited call, per-task processes inside runTask vs global processes): ${ratio(alsCost, 2)}; not counted in the per-task Δ`,
      'the instrumented async function counts its live frame: __livepatch.enter/leave in try/finally (per-task: a per-task Int32Array; global: the root task)',
      'the instrumented async generator also registers its frame token with a FinalizationRegistry once per generator (abandoned generators)',
    ],
  }];
  const pt = data['per-task.async'];
  const gl = data['global.async'];
  const summary = [
    target('instrumented async call on top of ALS (per-task, inside runTask)', `${signedRange(pt.delta, 1)} ns (${ratio(pt.ratio)})`, '≤ +40 ns', pt.delta.median <= 40),
    target('instrumented async call, global mode (no ALS)', `${signedRange(gl.delta, 1)} ns (${ratio(gl.ratio)})`, '≤ +15 ns', gl.delta.median <= 15),
    target('instrumented async call from an instrumented async caller, per-task / global',
      `${signedRange(data['per-task.asyncInFrame'].delta, 1)} / ${signedRange(data['global.asyncInFrame'].delta, 1)} ns`, 'report', null),
    target('instrumented async function without await, per-task / global', `${signedRange(data['per-task.asyncNoAwait'].delta, 1)} / ${signedRange(data['global.asyncNoAwait'].delta, 1)} ns`, 'report', null),
    target('instrumented async generator (3 yields), per-task / global', `${signedRange(data['per-task.asyncGen'].delta, 0)} / ${signedRange(data['global.asyncGen'].delta, 0)} ns per generator`, 'report', null),
    target('AsyncLocalStorage itself: plain awaited call, per-task / global', ratio(alsCost, 2), 'report (design estimate ~3×)', null),
  ];
  emit({
    bench: 'async',
    title: 'Instrumented async functions: per-task and global consistency',
    env: envInfo(),
    config: { processes, ...opts, quick: q },
    tables,
    summary,
    data,
  }, args);
});
