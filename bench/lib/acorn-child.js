/**
 * Child process of bench/acorn.js: times acorn parsing a big script and,
 * as a second workload, acorn's own 235 KB source repeatedly.
 *
 * mode 'ab': runs under the real loader with the bench's root, where
 * `import('acorn')` is instrumented (every instrumentable function of
 * node_modules/acorn/dist/acorn.mjs) and a byte-identical copy under
 * `plain/` is excluded from instrumentation. The two alternate, parse by
 * parse, in the same process: paired measurements.
 * mode 'single': one acorn (`import('acorn')`), plain or under the loader,
 * depending on how the parent started this process.
 *
 * argv[2]: JSON { mode, input, plainCopy, warmup, runs, smallReps }
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { childResult, DIST, nowMs, threadCpuMs } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const big = fs.readFileSync(cfg.input, 'utf8');
const small = fs.readFileSync(cfg.plainCopy, 'utf8');

const acorns = { node_modules: await import('acorn') };
if (cfg.mode === 'ab') acorns.plainCopy = await import(pathToFileURL(cfg.plainCopy).href);

// A full collection before each timed parse, so that every parse starts
// from the same heap state instead of paying for the previous one's garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const hasTrampoline = (acorn) => String(acorn.Parser.prototype.parseExpression).includes('__lp_h');

/** Wall and main-thread CPU time of `fn`, in ms. */
function timed(fn) {
  gc();
  const c0 = threadCpuMs();
  const t0 = nowMs();
  fn();
  const wall = nowMs() - t0;
  return [wall, threadCpuMs() - c0];
}

function parseBig(acorn) {
  return timed(() => {
    const ast = acorn.parse(big, { ecmaVersion: 'latest', sourceType: 'script' });
    if (ast.body.length === 0) throw new Error('empty AST');
  });
}

function parseSmall(acorn) {
  return timed(() => {
    for (let i = 0; i < cfg.smallReps; i++) acorn.parse(small, { ecmaVersion: 'latest', sourceType: 'module' });
  });
}

const names = Object.keys(acorns);
const bigMs = Object.fromEntries(names.map((n) => [n, []]));
const smallMs = Object.fromEntries(names.map((n) => [n, []]));
const bigCpu = Object.fromEntries(names.map((n) => [n, []]));
const smallCpu = Object.fromEntries(names.map((n) => [n, []]));
for (let i = 0; i < cfg.warmup; i++) {
  for (const n of names) {
    parseBig(acorns[n]);
    parseSmall(acorns[n]);
  }
}
for (let i = 0; i < cfg.runs; i++) {
  const order = i % 2 === 0 ? names : [...names].reverse();
  for (const n of order) {
    const [wall, cpu] = parseBig(acorns[n]);
    bigMs[n].push(wall);
    bigCpu[n].push(cpu);
  }
  for (const n of order) {
    const [wall, cpu] = parseSmall(acorns[n]);
    smallMs[n].push(wall);
    smallCpu[n].push(cpu);
  }
}

let instrumented = null;
if ('__livepatch' in globalThis) {
  const lp = await import(pathToFileURL(path.join(DIST, 'index.js')).href);
  const mod = lp.listModules().find((m) => m.id === 'acorn/dist/acorn.mjs');
  const table = mod ? lp.moduleSymbols(mod.id) : undefined;
  instrumented = {
    module: mod?.id ?? null,
    symbols: table?.symbols.length ?? 0,
    slots: table?.symbols.filter((s) => s.slot >= 0).length ?? 0,
    forwardArguments: table?.symbols.filter((s) => s.slot >= 0 && s.rest).length ?? 0,
    notPatchable: table?.symbols.filter((s) => s.slot < 0).map((s) => `${s.name}: ${s.reason}`) ?? [],
  };
}
const trampolines = Object.fromEntries(names.map((n) => [n, hasTrampoline(acorns[n])]));

childResult({ bigMs, smallMs, bigCpu, smallCpu, instrumented, trampolines, rssMB: process.memoryUsage().rss / 2 ** 20 });
