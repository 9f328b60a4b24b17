#!/usr/bin/env node
/**
 * Whole-program cost of unpatched instrumentation on call-dense code
 * (issue 2 c): acorn parsing TypeScript's 9 MB `lib/typescript.js`. Under
 * the real loader (`--import livepatch/register`) every instrumentable
 * function of node_modules/acorn/dist/acorn.mjs gets a trampoline. A second
 * workload parses acorn's own 235 KB source repeatedly.
 *
 * Two designs, both reported:
 * - side by side (primary): in each process, under the loader, the
 *   instrumented acorn and a byte-identical uninstrumented copy (excluded by
 *   the bench root's livepatch.config.json) alternate parse by parse; the
 *   ratio is paired per round. This cancels most of the machine's drift.
 * - separate processes: plain processes (no livepatch at all) and
 *   instrumented ones alternate; ratio per neighbouring pair.
 *
 *     node bench/acorn.js [--quick] [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, NODE_MODULES, emit, ensureBuilt, envInfo, freshDir, log, main, median, mpm, num, parseArgs, range, ratio,
  runChild, summarize, target, workDir, writeFiles,
} from './lib/harness.js';

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const input = path.join(NODE_MODULES, 'typescript', 'lib', 'typescript.js');
  const acornMjs = path.join(NODE_MODULES, 'acorn', 'dist', 'acorn.mjs');
  const dir = freshDir('acorn');
  writeFiles(dir, {
    'package.json': '{ "name": "bench-acorn", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ exclude: ['plain/**', '../**'] }) + '\n',
    'plain/acorn.mjs': fs.readFileSync(acornMjs, 'utf8'),
  });
  const cache = workDir('cache', 'acorn');
  const q = args.quick;
  const abProcesses = q ? 1 : 4;
  const sepPairs = q ? 1 : 3;
  const base = { input, plainCopy: path.join(dir, 'plain', 'acorn.mjs'), smallReps: q ? 10 : 20 };
  const abCfg = { ...base, mode: 'ab', warmup: 1, runs: q ? 2 : 5 };
  const sepCfg = { ...base, mode: 'single', warmup: 1, runs: q ? 1 : 3 };
  const child = path.join(BENCH, 'lib', 'acorn-child.js');
  const run = (cfg, register) => runChild(child, {
    args: [JSON.stringify(cfg)],
    register,
    env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: cache },
    cwd: dir,
    timeout: 900_000,
  });

  const ab = [];
  const plain = [];
  const instr = [];
  for (let p = 0; p < Math.max(abProcesses, sepPairs); p++) {
    if (p < abProcesses) {
      log(`acorn: side-by-side process ${p + 1}/${abProcesses}`);
      ab.push(await run(abCfg, true));
    }
    if (p < sepPairs) {
      const order = p % 2 === 0 ? [false, true] : [true, false];
      for (const inst of order) {
        log(`acorn: separate ${inst ? 'instrumented' : 'plain'} process ${p + 1}/${sepPairs}`);
        (inst ? instr : plain).push(await run(sepCfg, inst));
      }
    }
  }
  const check = ab[0];
  if (!check.trampolines.node_modules || check.trampolines.plainCopy) {
    throw new Error(`instrumentation is not as expected: ${JSON.stringify(check.trampolines)}`);
  }
  if (plain[0].trampolines.node_modules || !instr[0].trampolines.node_modules) throw new Error('separate-process variants are mixed up');

  // Per process: the median over rounds of instrumented/plain, paired round by round.
  const paired = (key) => summarize(ab.map((r) => median(r[key].node_modules.map((x, i) => x / r[key].plainCopy[i]))));
  const abv = (key) => ({ plain: mpm(ab.map((r) => r[key].plainCopy)), instr: mpm(ab.map((r) => r[key].node_modules)), ratio: paired(key) });
  const sep = (key) => ({
    plain: mpm(plain.map((r) => r[key].node_modules)),
    instr: mpm(instr.map((r) => r[key].node_modules)),
    ratio: summarize(plain.map((r, i) => median(instr[i][key].node_modules) / median(r[key].node_modules))),
  });
  const d = {
    abBigCpu: abv('bigCpu'), abBig: abv('bigMs'), sepBigCpu: sep('bigCpu'), sepBig: sep('bigMs'),
    abSmallCpu: abv('smallCpu'), abSmall: abv('smallMs'),
  };
  const info = check.instrumented;
  const mb = fs.statSync(input).size / 1e6;
  const row = (label, x) => [label, range(x.plain), range(x.instr), ratio(x.ratio), `${num(x.instr.median / x.plain.median, 3)}×`];
  const ab1 = `side by side, ${abProcesses}×${abCfg.runs}`;
  const sep1 = `separate processes, ${sepPairs}×${sepCfg.runs}`;

  const tables = [{
    title: 'acorn parse time, ms: median [min–max] of per-process medians; ratios paired per round (side by side) or per process pair',
    columns: ['workload, clock, design', 'plain', 'instrumented', 'instr/plain (paired)', 'ratio of medians'],
    rows: [
      row(`typescript.js (${num(mb, 1)} MB), thread CPU, ${ab1}`, d.abBigCpu),
      row(`typescript.js, wall, ${ab1}`, d.abBig),
      row(`typescript.js, thread CPU, ${sep1}`, d.sepBigCpu),
      row(`typescript.js, wall, ${sep1}`, d.sepBig),
      row(`acorn.mjs (235 KB) ×${base.smallReps}, thread CPU, ${ab1}`, d.abSmallCpu),
      row(`acorn.mjs ×${base.smallReps}, wall, ${ab1}`, d.abSmall),
    ],
    notes: [
      `instrumented module: ${info.module}; ${info.slots} of ${info.symbols} functions have a trampoline` +
        ` (${info.forwardArguments} forward ...arguments)${info.notPatchable.length ? `; not patchable: ${info.notPatchable.join('; ')}` : ''}`,
      'side by side: both acorns in one process under the loader, alternating parse by parse (after 1 warm-up parse each); a full GC before every timed parse',
      'thread CPU: CPU time of the main thread (/proc/thread-self/schedstat), which does not count time spent waiting for a core on this shared machine',
      `RSS at exit (separate processes): plain ${num(median(plain.map((r) => r.rssMB)), 0)} MB, instrumented ${num(median(instr.map((r) => r.rssMB)), 0)} MB`,
    ],
  }];
  const summary = [
    target('acorn parsing typescript.js: instrumented/plain, main-thread CPU (side by side, paired)', ratio(d.abBigCpu.ratio), '≤ 1.10×', d.abBigCpu.ratio.median <= 1.10),
    target('same, wall clock (side by side, paired)', ratio(d.abBig.ratio), '≤ 1.10×', d.abBig.ratio.median <= 1.10),
    target('same, separate processes, CPU / wall (cross-check)', `${ratio(d.sepBigCpu.ratio)} / ${ratio(d.sepBig.ratio)}`, 'report', null),
    target('acorn functions instrumented', `${info.slots} of ${info.symbols}`, 'all instrumentable', info.slots > 0 && info.slots === info.symbols),
    target('acorn parsing acorn.mjs ×N: instrumented/plain, CPU (side by side)', ratio(d.abSmallCpu.ratio), 'report', null),
  ];
  emit({
    bench: 'acorn',
    title: 'Whole-program cost of unpatched trampolines: acorn',
    env: envInfo(),
    config: { abProcesses, abRuns: abCfg.runs, sepPairs, sepRuns: sepCfg.runs, smallReps: base.smallReps, quick: q },
    tables,
    summary,
    data: { ...d, ab, plain, instr, info },
  }, args);
});
