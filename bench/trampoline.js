#!/usr/bin/env node
/**
 * Trampoline call cost (issue 2 a, b).
 *
 * (a) An instrumented, unpatched function vs the same function
 *     uninstrumented, called from a hot loop: `add` (trivial), `moderate`
 *     (allocating, branching), a class method, and a function with a
 *     non-simple parameter list (whose trampoline forwards `...arguments`).
 * (b) A patched function (slot set by the engine to the replacement) vs a
 *     direct call of that replacement.
 *
 * Three JIT settings, each in its own fresh processes: default (the callee
 * may be inlined), `--no-turbo-inlining` (stands in for big or megamorphic
 * callees) and `--no-opt` (code that never reaches TurboFan). Instrumented
 * kernels are produced by the real loader (`--import livepatch/register`),
 * and patched slots are set by the real `enablePatch`. Inside a process the
 * two members of a pair run back to back in every round, so the reported
 * deltas and ratios are paired. A separate process runs with
 * `--trace-turbo-inlining` and `%GetOptimizationStatus` to show that the
 * instrumented callee is still inlined into the loop.
 *
 *     node bench/trampoline.js [--quick] [--json]
 */
import path from 'node:path';
import {
  DIST, emit, ensureBuilt, envInfo, freshDir, log, main, median, mpm, parseArgs, range, ratio, runChild,
  signedRange, summarize, target, writeFiles, BENCH,
} from './lib/harness.js';

const KERNELS = [
  {
    name: 'add',
    fn: 'add',
    symbol: 'add',
    variants: ['plain', 'instr', 'patched', 'direct'],
    source: 'export function add(a, b) { return a + b; }\n',
    replacement: 'export function impl(self, a, b) { return a + b; }\n',
    loop: (call) => `let s = 0; for (let i = 0; i < n; i++) s = ${call('s', 'i')} & 0xfffff; return s;`,
  },
  {
    name: 'moderate',
    fn: 'moderate',
    symbol: 'moderate',
    variants: ['plain', 'instr', 'patched', 'direct'],
    source: `export function moderate(p, k) {
  if ((k & 7) === 0) return { x: (p.x + k) & 0xffff, y: p.y, n: p.n + 1, tag: 'eight' };
  return { x: (p.x + 1) & 0xffff, y: p.y ^ (k & 0xff), n: p.n + 1, tag: 'other' };
}
`,
    replacement: `export function impl(self, p, k) {
  if ((k & 7) === 0) return { x: (p.x + k) & 0xffff, y: p.y, n: p.n + 1, tag: 'eight' };
  return { x: (p.x + 1) & 0xffff, y: p.y ^ (k & 0xff), n: p.n + 1, tag: 'other' };
}
`,
    prelude: 'export const sink = [null];\n',
    loop: (call) => `let p = { x: 0, y: 0, n: 0, tag: '' }; for (let i = 0; i < n; i++) { p = ${call('p', 'i')}; if ((i & 255) === 0) sink[0] = p; } return p.n + p.x + p.y;`,
  },
  {
    name: 'method',
    fn: 'Counter',
    symbol: 'Counter.prototype.bump',
    variants: ['plain', 'instr', 'patched', 'direct'],
    source: `export class Counter {
  constructor() { this.v = 0; }
  bump(x) { this.v = (this.v + x) & 0xfffff; return this.v; }
}
`,
    replacement: 'export function impl(self, x) { self.v = (self.v + x) & 0xfffff; return self.v; }\n',
    prelude: 'const c = new Counter();\n',
    loop: (call) => `c.v = 0; let s = 0; for (let i = 0; i < n; i++) s = ${call('i')}; return s;`,
  },
  {
    name: 'args',
    fn: 'addd',
    symbol: 'addd',
    variants: ['plain', 'instr'],
    // A default value makes the parameter list non-simple: the trampoline
    // then forwards `...arguments` instead of the named parameters.
    source: 'export function addd(a, b = 0) { return a + b; }\n',
    loop: (call) => `let s = 0; for (let i = 0; i < n; i++) s = ${call('s', 'i')} & 0xfffff; return s;`,
  },
];

const MODES = [
  { name: 'optimized', label: 'default flags (callee may be inlined)', flags: [] },
  { name: 'not-inlined', label: '--no-turbo-inlining', flags: ['--no-turbo-inlining'] },
  { name: 'unoptimized', label: '--no-opt (Ignition/Sparkplug only)', flags: ['--no-opt'] },
];

async function generate(dir) {
  const files = {
    'package.json': '{ "name": "bench-trampoline", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ include: ['k_instr_*.js', 'k_patched_*.js'], cache: false }) + '\n',
  };
  for (const k of KERNELS) {
    for (const v of k.variants) {
      files[`k_${v}_${k.name}.js`] = k.source;
      const run = `run_${v}_${k.name}`;
      let imports;
      let call;
      if (v === 'direct') {
        files[`r_direct_${k.name}.js`] = k.replacement;
        imports = `import { impl } from './r_direct_${k.name}.js';\n` +
          (k.name === 'method' ? `import { Counter } from './k_direct_${k.name}.js';\n` : '');
        call = k.name === 'method' ? (x) => `impl(c, ${x})` : (...a) => `impl(undefined, ${a.join(', ')})`;
      } else {
        imports = `import { ${k.fn} } from './k_${v}_${k.name}.js';\n`;
        call = k.name === 'method' ? (x) => `c.bump(${x})` : (...a) => `${k.fn}(${a.join(', ')})`;
      }
      if (v === 'patched') files[`r_${v}_${k.name}.js`] = k.replacement;
      files[`d_${v}_${k.name}.js`] = `${imports}${k.prelude ?? ''}export function ${run}(n) { ${k.loop(call)} }\n`;
    }
  }
  writeFiles(dir, files);
}

function childConfig(dir, opts) {
  return JSON.stringify({
    dir,
    dist: DIST,
    kernels: KERNELS.map(({ name, fn, symbol, variants }) => ({ name, fn, symbol, variants })),
    ...opts,
  });
}

function runMode(dir, mode, opts, extraFlags = []) {
  return runChild(path.join(BENCH, 'lib', 'trampoline-child.js'), {
    args: [childConfig(dir, opts)],
    nodeArgs: [...mode.flags, ...extraFlags],
    register: true,
    env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: '0' },
    cwd: dir,
  });
}

/** Parses `--trace-turbo-inlining` output into "callee into caller" pairs. */
function inliningPairs(stdout) {
  const pairs = [];
  const re = /^Inlining .*?<SharedFunctionInfo ([\w$]*)>.* into .*?<SharedFunctionInfo ([\w$]*)>/;
  for (const line of stdout.split('\n')) {
    const m = re.exec(line);
    if (m) pairs.push([m[1], m[2]]);
  }
  return pairs;
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const processes = args.quick ? 1 : 5;
  const opts = args.quick
    ? { rounds: 3, targetMs: 8, warmupMs: 150 }
    : { rounds: 9, targetMs: 20, warmupMs: 500 };
  const dir = freshDir('trampoline');
  await generate(dir);

  const results = Object.fromEntries(MODES.map((m) => [m.name, []]));
  for (let p = 0; p < processes; p++) {
    for (const mode of MODES) {
      log(`trampoline: ${mode.name} process ${p + 1}/${processes}`);
      results[mode.name].push(await runMode(dir, mode, opts));
    }
  }

  log('trampoline: inlining check (--trace-turbo-inlining, %GetOptimizationStatus)');
  const traced = await runMode(dir, MODES[0], { rounds: 2, targetMs: 5, warmupMs: 200, natives: true },
    ['--trace-turbo-inlining', '--allow-natives-syntax']);
  const inlined = inliningPairs(traced.stdout);
  const wasInlined = (callee, caller) => inlined.some(([a, b]) => a === callee && b === caller);

  const first = results.optimized[0];
  const tables = [];
  const summary = [];
  const data = { modes: {}, inlining: {}, checks: first.checks, patchedSlots: first.patchedSlots };

  for (const mode of MODES) {
    const procs = results[mode.name];
    const per = (name) => mpm(procs.map((r) => r.samples[name]));
    // Paired, per process: the median over rounds of (b − a) and of b / a.
    const delta = (a, b, k) => summarize(procs.map((r) => median(r.paired[`${a}:${b}:${k}`].map(([x, y]) => y - x))));
    const rel = (a, b, k) => summarize(procs.map((r) => median(r.paired[`${a}:${b}:${k}`].map(([x, y]) => y / x))));
    const rows = [];
    const modeData = {};
    for (const k of KERNELS) {
      const d = {
        plain: per(`plain_${k.name}`), instr: per(`instr_${k.name}`),
        instrDelta: delta('plain', 'instr', k.name), instrRatio: rel('plain', 'instr', k.name),
      };
      if (k.variants.includes('patched')) {
        Object.assign(d, {
          direct: per(`direct_${k.name}`), patched: per(`patched_${k.name}`),
          patchedDelta: delta('direct', 'patched', k.name), patchedRatio: rel('direct', 'patched', k.name),
        });
      }
      modeData[k.name] = d;
      rows.push([
        k.name === 'args' ? 'args (…arguments form)' : k.name,
        range(d.plain), range(d.instr), signedRange(d.instrDelta), ratio(d.instrRatio),
        d.direct ? range(d.direct) : '', d.patched ? range(d.patched) : '',
        d.patchedDelta ? signedRange(d.patchedDelta) : '', d.patchedRatio ? ratio(d.patchedRatio) : '',
      ]);
    }
    data.modes[mode.name] = modeData;
    tables.push({
      title: `Call cost, ${mode.label}: ns per call, median of ${procs.length} processes × ${opts.rounds} rounds [min–max of per-process medians]`,
      columns: ['kernel', 'plain', 'instrumented', 'Δ instr−plain', 'instr/plain', 'direct repl.', 'patched (slot)', 'Δ patched−direct', 'patched/direct'],
      rows,
      notes: [`iterations per timed run: ${Object.entries(procs[0].iterations).map(([k, n]) => `${k} ${n}`).join(', ')}`],
    });
  }

  // Inlining evidence.
  const inlRows = [];
  for (const k of KERNELS) {
    const callee = k.name === 'method' ? 'bump' : k.fn;
    for (const v of k.variants) {
      const caller = `run_${v}_${k.name}`;
      const st = traced.status?.[`${v}_${k.name}`];
      const kernelInlined = v === 'direct' ? null : wasInlined(callee, caller);
      const replInlined = v === 'patched' || v === 'direct' ? wasInlined('impl', caller) : null;
      data.inlining[caller] = { kernelInlined, replInlined, status: st };
      inlRows.push([
        caller, v === 'direct' ? '–' : callee, kernelInlined === null ? '–' : kernelInlined ? 'yes' : 'NO',
        replInlined === null ? '–' : replInlined ? 'yes' : 'NO',
        st === undefined ? '?' : (st & 16) ? 'yes' : 'NO',
        traced.checks[`${v}_${k.name}`].instrumented ? 'yes' : 'no',
      ]);
    }
  }
  tables.push({
    title: 'Inlining check (default flags, --trace-turbo-inlining; TurboFan = %GetOptimizationStatus bit 4 on the loop function)',
    columns: ['loop function', 'callee', 'callee inlined', 'replacement inlined', 'loop TurboFanned', 'callee has trampoline'],
    rows: inlRows,
    notes: [
      `patched slots set by enablePatch: ${traced.patchedSlots.join(', ')}`,
      'loop TurboFanned: the status of the loop function\'s own code after extra calls; a loop that runs as OSR code, or sits between a deopt and its re-optimization, shows NO',
    ],
  });

  // Targets.
  const opt = data.modes.optimized;
  const noopt = data.modes.unoptimized;
  const noinl = data.modes['not-inlined'];
  const main3 = ['add', 'moderate', 'method'];
  const worst = (m, key) => Math.max(...main3.map((k) => m[k][key].median));
  const list = (m, key) => main3.map((k) => `${k} ${signedRange(m[k][key])}`).join('; ');
  summary.push(target('unpatched instrumented call, optimized: Δ ns/call (worst kernel)',
    `${worst(opt, 'instrDelta').toFixed(2)} (${list(opt, 'instrDelta')})`, '≤ +1 ns', worst(opt, 'instrDelta') <= 1));
  const allInlined = main3.every((k) => data.inlining[`run_instr_${k}`].kernelInlined);
  summary.push(target('instrumented callee still inlined into the optimized loop',
    main3.map((k) => `${k}: ${data.inlining[`run_instr_${k}`].kernelInlined ? 'inlined' : 'NOT inlined'}`).join(', '), 'inlined', allInlined));
  summary.push(target('unpatched instrumented call, --no-opt: Δ ns/call (worst kernel)',
    `${worst(noopt, 'instrDelta').toFixed(2)} (${list(noopt, 'instrDelta')})`, '≤ +1 ns', worst(noopt, 'instrDelta') <= 1));
  summary.push(target('unpatched instrumented call, --no-turbo-inlining: Δ ns/call (worst kernel)',
    `${worst(noinl, 'instrDelta').toFixed(2)} (${list(noinl, 'instrDelta')})`, '≤ +1 ns', worst(noinl, 'instrDelta') <= 1));
  summary.push(target('patched call via slot vs direct call of the replacement, inlined: Δ ns/call (worst kernel)',
    `${worst(opt, 'patchedDelta').toFixed(2)} (${list(opt, 'patchedDelta')})`, '≤ +2 ns', worst(opt, 'patchedDelta') <= 2));
  summary.push(target('patched call via slot vs direct, --no-turbo-inlining: Δ ns/call (worst kernel)',
    `${worst(noinl, 'patchedDelta').toFixed(2)} (${list(noinl, 'patchedDelta')})`, '≤ +6 ns (design budget)', worst(noinl, 'patchedDelta') <= 6));
  summary.push(target('`...arguments` forwarding form (non-simple params), --no-opt: Δ ns/call',
    `${signedRange(noopt.args.instrDelta)} (${ratio(noopt.args.instrRatio)})`, 'report (design estimate: +10–12 ns)', null));
  summary.push(target('`...arguments` forwarding form, optimized: Δ ns/call',
    `${signedRange(opt.args.instrDelta)}`, 'report', null));

  emit({
    bench: 'trampoline',
    title: 'Trampoline call cost: instrumented vs plain, patched vs direct',
    env: envInfo(),
    config: { processes, ...opts, quick: args.quick },
    tables,
    summary,
    data,
  }, args);
});
