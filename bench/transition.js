#!/usr/bin/env node
/**
 * Transitions (issue 4), per-task consistency, under the real loader.
 *
 * (a) A patched call during a transition (the per-task handler in the slot)
 *     vs the steady state (the slot holds the new version): a transition is
 *     held open by one task suspended in the old version of an async
 *     function of the patch, and a sync function of the same patch is timed
 *     from another task (switched: runs the new version) and from a task
 *     still in the old state (the handler falls through to the original).
 *     Default flags and --no-turbo-inlining, separate processes.
 * (b) Transition latency, `enablePatch` → completion (`waitForTransition`),
 *     with no extra tasks and with 10,000 live tasks parked on an await
 *     outside patched code; also the disable transition.
 * (c) Latency from the last blocking frame's exit (timestamped inside the
 *     old function just before it returns) to completion.
 *
 *     node bench/transition.js [--quick] [--json]
 */
import path from 'node:path';
import {
  BENCH, DIST, emit, ensureBuilt, envInfo, freshDir, log, main, median, mpm, num, parseArgs, quantile, range, ratio,
  runChild, signedRange, summarize, target, writeFiles,
} from './lib/harness.js';

const MODULE = `export function add(a, b) { return a + b; }
export async function hold(p) { await p; globalThis.__benchExitAt = performance.now(); return 1; }
`;

function generate(dir) {
  const files = {
    'package.json': '{ "name": "bench-transition", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ include: ['m*.js'], cache: false }) + '\n',
    'r.js': ['A', 'B', 'T'].map((s) => `export function add${s}(self, a, b) { return a + b; }
export async function hold${s}(self, p) { await p; return 2; }
`).join(''),
  };
  for (const m of ['ma', 'mb', 'mc', 'mt']) files[`${m}.js`] = MODULE;
  files['mw.js'] = 'export async function wait(p) { await p; return 0; }\n';
  const src = { unpatched: 'mc', steady: 'ma', new: 'mb', old: 'mb' };
  for (const [v, m] of Object.entries(src)) {
    files[`d_${v}.js`] = `import { add } from './${m}.js';
export function run_${v}(n) { let s = 0; for (let i = 0; i < n; i++) s = add(s, i) & 0xfffff; return s; }
`;
  }
  writeFiles(dir, files);
}

const MODES = [
  { name: 'optimized', label: 'default flags (inlined)', flags: [] },
  { name: 'not-inlined', label: '--no-turbo-inlining', flags: ['--no-turbo-inlining'] },
];

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const q = args.quick;
  const dir = freshDir('transition');
  generate(dir);
  const child = path.join(BENCH, 'lib', 'transition-child.js');
  const env = { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: '0', LIVEPATCH_CONSISTENCY: 'per-task' };
  const hProcs = q ? 1 : 4;
  const lProcs = q ? 1 : 3;
  const hOpts = q ? { rounds: 5, targetMs: 10, warmupMs: 200 } : { rounds: 11, targetMs: 20, warmupMs: 500 };
  const lOpts = { tasks: 10_000, iterations: q ? 5 : 15 };

  const handler = Object.fromEntries(MODES.map((m) => [m.name, []]));
  const latency = [];
  for (let p = 0; p < Math.max(hProcs, lProcs); p++) {
    if (p < hProcs) {
      for (const mode of MODES) {
        log(`transition: handler ${mode.name} process ${p + 1}/${hProcs}`);
        const r = await runChild(child, { args: [JSON.stringify({ mode: 'handler', dir, dist: DIST, ...hOpts })], nodeArgs: mode.flags, register: true, env, cwd: dir });
        if (!r.stillOpen) throw new Error('the transition closed during the measurement');
        handler[mode.name].push(r);
      }
    }
    if (p < lProcs) {
      log(`transition: latency process ${p + 1}/${lProcs}`);
      latency.push(await runChild(child, { args: [JSON.stringify({ mode: 'latency', dir, dist: DIST, ...lOpts })], register: true, env, cwd: dir }));
    }
  }

  const tables = [];
  const data = { handler: {}, latency: {} };
  const hRows = [];
  const VARIANTS = [
    ['unpatched', 'instrumented, unpatched (slot empty)'],
    ['steady', 'patched, steady state (slot = new version)'],
    ['new', 'in transition, switched task (handler → new version)'],
    ['old', 'in transition, task in old state (handler → nop → original)'],
  ];
  for (const mode of MODES) {
    const procs = handler[mode.name];
    const d = {};
    for (const [v, label] of VARIANTS) {
      d[v] = {
        abs: mpm(procs.map((r) => r.samples[v])),
        delta: summarize(procs.map((r) => median(r.rounds.map((x) => x[v] - x.steady)))),
        ratio: summarize(procs.map((r) => median(r.rounds.map((x) => x[v] / x.steady)))),
      };
      hRows.push([mode.label, label, range(d[v].abs), v === 'steady' ? '' : signedRange(d[v].delta), v === 'steady' ? '' : ratio(d[v].ratio, 2)]);
    }
    data.handler[mode.name] = d;
  }
  tables.push({
    title: `(a) Calls of add(a, b) from an optimized loop, ns per call: median of ${hProcs} processes × ${hOpts.rounds} rounds [min–max]; Δ and ratio vs steady state, paired per round`,
    columns: ['flags', 'variant', 'ns/call', 'Δ vs steady', 'vs steady'],
    rows: hRows,
    notes: [`task states during the measurement (patch_state: 1 patched, 0 unpatched): ${JSON.stringify(handler.optimized[0].states)}`],
  });

  const lat = (phase, key) => {
    const pooled = latency.flatMap((r) => r[phase][key]);
    return { perProc: summarize(latency.map((r) => median(r[phase][key]))), p99: quantile(pooled, 0.99), max: Math.max(...pooled), n: pooled.length };
  };
  const lRows = [];
  const k = lOpts.tasks.toLocaleString('en');
  const PHASES = [
    ['noTasks', 'no extra tasks'],
    ['parkedPlain', `${k} tasks parked in plain code`],
    ['parkedInstr', `${k} tasks parked in an instrumented fn`],
  ];
  for (const [phase, label] of PHASES) {
    const tasks = latency[0][phase].tasks;
    for (const [key, what] of [['enable', 'enablePatch → complete (none blocking)'], ['disable', 'disablePatch → complete'], ['exit', 'last blocking frame exits → complete']]) {
      const s = lat(phase, key);
      data.latency[`${phase}.${key}`] = s;
      lRows.push([`${label} (listTasks: ${tasks})`, what, String(s.n), range(s.perProc), num(s.p99), num(s.max)]);
    }
  }
  tables.push({
    title: `(b, c) Transition latency, ms: p50 = median of ${lProcs} processes' medians [min–max]; p99 and max over all samples`,
    columns: ['tasks', 'measurement', 'samples', 'p50', 'p99', 'max'],
    rows: lRows,
    notes: [
      `creating ${k} parked tasks with runTask took ${range(summarize(latency.map((r) => r.createMs.parkedPlain)))} ms (plain code), ` +
        `${range(summarize(latency.map((r) => r.createMs.parkedInstr)))} ms (inside an instrumented async function)`,
      'listTasks: the tasks the engine lists during the phase (it may list only tasks that hold live frames)',
    ],
  });

  const hi = data.handler.optimized;
  const hn = data.handler['not-inlined'];
  const summary = [
    target('patched call during a transition (handler, switched task), inlined', `${range(hi.new.abs)} ns/call (${signedRange(hi.new.delta)} vs steady)`, '≤ 5 ns', hi.new.abs.median <= 5),
    target('same, not inlined (--no-turbo-inlining)', `${range(hn.new.abs)} ns/call (${signedRange(hn.new.delta)} vs steady)`, '≤ 25 ns (design budget)', hn.new.abs.median <= 25),
    ...['parkedPlain', 'parkedInstr'].map((ph) => target(
      `transition latency, 10,000 live tasks ${ph === 'parkedPlain' ? 'parked in plain code' : 'parked in an unpatched instrumented fn'}, none blocking: enable → complete, p50`,
      `${range(data.latency[`${ph}.enable`].perProc)} ms (p99 ${num(data.latency[`${ph}.enable`].p99)})`, '≤ 20 ms', data.latency[`${ph}.enable`].perProc.median <= 20)),
    ...['noTasks', 'parkedPlain', 'parkedInstr'].map((ph) => target(
      `last blocking frame exits → transition complete, p50 (${ph === 'noTasks' ? 'no extra tasks' : ph === 'parkedPlain' ? '10,000 parked in plain code' : '10,000 parked in an instrumented fn'})`,
      `${range(data.latency[`${ph}.exit`].perProc)} ms (p99 ${num(data.latency[`${ph}.exit`].p99)})`, '≤ 2 ms', data.latency[`${ph}.exit`].perProc.median <= 2)),
  ];
  emit({
    bench: 'transition',
    title: 'Transitions: handler cost, latency with many tasks, completion after the last frame exits',
    env: envInfo(),
    config: { handlerProcesses: hProcs, latencyProcesses: lProcs, ...hOpts, ...lOpts, quick: q },
    tables,
    summary,
    data,
  }, args);
});
