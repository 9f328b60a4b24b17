#!/usr/bin/env node
/**
 * Patch-load latency (issue 3): from the host API call to the new code
 * running. A running process (under the real loader) loads a small
 * TypeScript patch with `loadPatch(file)`, waits with `waitForTransition()`,
 * and calls the patched function; the time until that first call returns
 * the new result is one sample. Every sample uses a new patch file and
 * patch name, and the patch is disabled again before the next one.
 *
 * The same fix is applied with V8 LiveEdit (`Debugger.setScriptSource`
 * through an in-process `inspector.Session`, no livepatch) to the same
 * small module and to a big one (acorn's 235 KB source with the same
 * function appended), to show how LiveEdit scales with script size while
 * the trampoline does not.
 *
 *     node bench/patch-load.js [--quick] [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, DIST, NODE_MODULES, emit, ensureBuilt, envInfo, freshDir, log, main, median, num, parseArgs, quantile, range,
  runChild, summarize, target, writeFiles,
} from './lib/harness.js';

const PRICE = `
export function price(qty, unit) {
  return qty * unit - 1; // BUG
}
`;

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const q = args.quick;
  const dir = freshDir('patch-load');
  const small = `// A small application module.
export function total(items) {
  let sum = 0;
  for (const item of items) sum += price(item.qty, item.unit);
  return sum;
}
${PRICE}`;
  writeFiles(dir, {
    'package.json': '{ "name": "bench-patch-load", "private": true, "type": "module" }\n',
    'livepatch.config.json': JSON.stringify({ exclude: ['../**'] }) + '\n',
    'small.js': small,
    'big.js': fs.readFileSync(path.join(NODE_MODULES, 'acorn', 'dist', 'acorn.mjs'), 'utf8') + PRICE,
  });
  const lpProcs = q ? 2 : 3;
  const leProcs = q ? 1 : 2;
  const lpIter = { small: q ? 25 : 60, big: q ? 10 : 30 };
  const leIter = { small: q ? 10 : 50, big: q ? 2 : 6 };
  const child = path.join(BENCH, 'lib', 'patch-load-child.js');
  const config = (mode, iters) => JSON.stringify({
    mode, dir, dist: DIST,
    targets: [
      { name: 'small', file: 'small.js', module: 'small.js', iterations: iters.small },
      { name: 'big', file: 'big.js', module: 'big.js', iterations: iters.big },
    ],
  });
  const results = { livepatch: [], liveedit: [] };
  for (let p = 0; p < Math.max(lpProcs, leProcs); p++) {
    if (p < lpProcs) {
      log(`patch-load: livepatch process ${p + 1}/${lpProcs}`);
      results.livepatch.push(await runChild(child, {
        args: [config('livepatch', lpIter)], register: true, cwd: dir,
        env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: path.join(dir, 'cache') },
      }));
    }
    if (p < leProcs) {
      log(`patch-load: LiveEdit process ${p + 1}/${leProcs}`);
      results.liveedit.push(await runChild(child, { args: [config('liveedit', leIter)], cwd: dir, timeout: 900_000 }));
    }
  }

  const stats = (mode, name) => {
    const rs = results[mode].map((r) => r.targets[name]);
    const pooled = rs.flatMap((t) => t.samples);
    return {
      bytes: rs[0].bytes,
      n: pooled.length,
      p50: summarize(rs.map((t) => median(t.samples))),
      p99: quantile(pooled, 0.99),
      max: Math.max(...pooled),
      pooledP50: median(pooled),
      first: summarize(rs.map((t) => t.first)),
      load: summarize(rs.map((t) => median(t.parts.load))),
      transition: summarize(rs.map((t) => median(t.parts.transition ?? []))),
      call: summarize(rs.map((t) => median(t.parts.call))),
      undo: summarize(rs.map((t) => median(t.undo))),
    };
  };
  const data = {};
  const rows = [];
  for (const mode of ['livepatch', 'liveedit']) {
    for (const name of ['small', 'big']) {
      const s = stats(mode, name);
      data[`${mode}.${name}`] = s;
      rows.push([
        mode === 'livepatch' ? 'livepatch: loadPatch (TS) → waitForTransition → call' : 'V8 LiveEdit: setScriptSource → call',
        `${name}.js (${num(s.bytes / 1024, s.bytes < 10240 ? 1 : 0)} KB)`,
        String(s.n), range(s.p50), num(s.p99), num(s.max), range(s.first),
        mode === 'livepatch' ? `${num(s.load.median)} / ${num(s.transition.median)} / ${num(s.call.median, 3)}` : `${num(s.load.median)} / – / ${num(s.call.median, 3)}`,
        range(s.undo),
      ]);
    }
  }
  const enableMs = summarize(results.liveedit.map((r) => r.enableMs));
  const tables = [{
    title: `Latency from the API call to the first call running the new code, ms. p50: median of per-process medians [min–max]; p99 and max: pooled samples`,
    columns: ['mechanism', 'patched module', 'samples', 'p50', 'p99', 'max', 'first (cold) load', 'parts: apply / transition / call (p50)', 'undo (disable / revert) p50'],
    rows,
    notes: [
      `livepatch: ${lpProcs} processes; each sample is a new TypeScript patch file and patch name; the patch is disabled (timed as undo) before the next`,
      `LiveEdit: ${leProcs} processes without livepatch; in-process inspector.Session; Debugger.enable took ${range(enableMs)} ms (not included)`,
      'first (cold) load: the first load in the process, not in the samples (livepatch: includes the TypeScript stripper\'s first use on the loader thread)',
    ],
  }];
  const lpS = data['livepatch.small'];
  const lpB = data['livepatch.big'];
  const leS = data['liveedit.small'];
  const leB = data['liveedit.big'];
  const summary = [
    target('patch load → new code runs, small TS patch, p50', `${range(lpS.p50)} ms (p99 ${num(lpS.p99)} ms, n=${lpS.n})`, '≤ 5 ms', lpS.p50.median <= 5),
    target('same, patching a function in a 235 KB module, p50', `${range(lpB.p50)} ms (p99 ${num(lpB.p99)} ms)`, 'report (size-independent)', null),
    target('V8 LiveEdit, same fix, small module, p50', `${range(leS.p50)} ms (p99 ${num(leS.p99)})`, 'comparison', null),
    target('V8 LiveEdit, same fix, 235 KB module, p50', `${range(leB.p50)} ms (${num(leB.p50.median / lpB.p50.median, 0)}× livepatch)`, 'comparison', null),
  ];
  emit({
    bench: 'patch-load',
    title: 'Patch-load latency: livepatch vs V8 LiveEdit',
    env: envInfo(),
    config: { lpProcs, leProcs, lpIter, leIter, quick: q },
    tables,
    summary,
    data,
  }, args);
});
