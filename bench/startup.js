#!/usr/bin/env node
/**
 * Instrumentation throughput and startup cost (issue 2 d).
 *
 * (1) Throughput of the real `instrument()` (`livepatch/internal`) on
 *     TypeScript's 9 MB bundle and on a few typical modules: cold (the first
 *     call in a fresh process) and warm. Parse-only time splits the cost.
 * (2) Startup of a large real program, `require('typescript')`, in fresh
 *     processes: no livepatch; under the loader with TypeScript excluded
 *     (loader cost alone); cold transform cache (an empty cache directory:
 *     instrument, write the cache); warm cache. The variants interleave.
 * (3) Load time and RSS of the instrumented output itself: the warm-cache
 *     variant against two scratch variants of the same cache entry, to
 *     attribute the cost (not src/ changes): without the direct-eval scope
 *     closures (`null` instead of `(__lp_s, __lp_v) => eval(__lp_s)`), and
 *     without the trampoline prologues.
 *
 *     node bench/startup.js [--quick] [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, DIST, NODE_MODULES, emit, ensureBuilt, envInfo, freshDir, log, main, mpm, num, parseArgs, range,
  ratio, rotate, runChild, summarize, target, writeFiles,
} from './lib/harness.js';

ensureBuilt();
const { formatOf } = await import('livepatch/internal');

const TS = path.join(NODE_MODULES, 'typescript', 'lib', 'typescript.js');

/** Typical modules (each instrumented in its own fresh processes); missing ones are skipped. */
const NPM_MODULES = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules');
const MODULES = [
  // 1–2k-line modules, a typical application module (from npm's own tree, shipped with Node).
  path.join(NPM_MODULES, 'minimatch', 'dist', 'esm', 'index.js'),
  path.join(NPM_MODULES, 'undici', 'lib', 'dispatcher', 'client-h1.js'),
  path.join(NPM_MODULES, 'lru-cache', 'dist', 'commonjs', 'index.js'),
  // Bigger ones from this repository's node_modules.
  path.join(NODE_MODULES, 'esbuild', 'lib', 'main.js'),
  path.join(NODE_MODULES, 'acorn', 'dist', 'acorn.mjs'),
  path.join(NODE_MODULES, 'meriyah', 'dist', 'meriyah.mjs'),
  path.join(NODE_MODULES, 'fast-check', 'lib', 'fast-check.js'),
];

/** `<package>/<path inside package>`, as the loader names dependency files. */
function moduleId(file) {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  const rest = parts.slice(at + 1);
  const n = rest[0].startsWith('@') ? 2 : 1;
  return [rest.slice(0, n).join('/'), ...rest.slice(n)].join('/');
}

const SCOPE_EVAL = '(__lp_s, __lp_v) => eval(__lp_s)';
const PROLOGUE = /if \((__lp_h\d+) !== void 0\) \{ const __lp_r = \1\([^;]*\); if \(__lp_r !== __lp_n\) return (?:yield\* )?__lp_r; \}|if \((__lp_h\d+) !== void 0 && \2\([^;]*\) !== __lp_n\) return;/g;

/** Derives the scratch cache entries from the real one (same key, edited code). */
function deriveCaches(warmDir, dirs) {
  const entries = fs.readdirSync(warmDir).filter((f) => f.endsWith('.lp'));
  let found = null;
  for (const f of entries) {
    const text = fs.readFileSync(path.join(warmDir, f), 'utf8');
    const nl = text.indexOf('\n');
    const meta = JSON.parse(text.slice(0, nl));
    if (meta.id === 'typescript/lib/typescript.js') found = { f, metaLine: text.slice(0, nl), code: text.slice(nl + 1), meta };
  }
  if (!found) throw new Error(`no cache entry for typescript/lib/typescript.js in ${warmDir}`);
  const noEval = found.code.split(SCOPE_EVAL).join('null');
  let prologues = 0;
  const noPrologue = found.code.replace(PROLOGUE, () => {
    prologues++;
    return '';
  });
  fs.writeFileSync(path.join(dirs.noEval, found.f), `${found.metaLine}\n${noEval}`);
  fs.writeFileSync(path.join(dirs.noPrologue, found.f), `${found.metaLine}\n${noPrologue}`);
  return {
    scopeClosures: found.code.split(SCOPE_EVAL).length - 1,
    prologues,
    slots: found.meta.slots,
    inBytes: null,
    outBytes: Buffer.byteLength(found.code),
  };
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const q = args.quick;
  const dir = freshDir('startup');
  writeFiles(dir, {
    'package.json': '{ "name": "bench-startup", "private": true }\n',
    // The child script lives in bench/lib, outside this root: not instrumented.
    'livepatch.config.json': JSON.stringify({ exclude: ['../**'] }) + '\n',
    'loader-only/package.json': '{ "name": "bench-startup-loader-only", "private": true }\n',
    'loader-only/livepatch.config.json': JSON.stringify({ exclude: ['../**', 'typescript/**'] }) + '\n',
  });
  const tables = [];
  const summary = [];
  const data = {};

  // ---------------------------------------------------------------- (1) throughput
  const instrumentChild = path.join(BENCH, 'lib', 'startup-instrument-child.js');
  const files = [TS, ...MODULES.filter((f) => fs.existsSync(f))];
  const tpProcs = q ? 1 : 3;
  const tp = Object.fromEntries(files.map((f) => [f, []]));
  for (let p = 0; p < tpProcs; p++) {
    for (const file of files) {
      const id = moduleId(file);
      log(`startup: instrument() ${id} process ${p + 1}/${tpProcs}`);
      const [warmup, warm] = file === TS ? [q ? 0 : 1, q ? 1 : 3] : [q ? 10 : 20, q ? 10 : 20];
      tp[file].push(await runChild(instrumentChild, {
        args: [JSON.stringify({ dist: DIST, file, id, format: formatOf(file), warmup, warm })],
        cwd: dir,
        timeout: 600_000,
      }));
    }
  }
  const tpRows = [];
  data.throughput = {};
  for (const file of files) {
    const rs = tp[file];
    const r0 = rs[0];
    const mb = r0.bytes / 1e6;
    const cold = summarize(rs.map((r) => r.coldMs));
    const warm = mpm(rs.map((r) => r.warmMs));
    const parse = mpm(rs.map((r) => r.parseMs));
    const mbps = (s) => ({ median: mb / (s.median / 1000), min: mb / (s.max / 1000), max: mb / (s.min / 1000) });
    const id = moduleId(file);
    data.throughput[id] = { bytes: r0.bytes, lines: r0.lines, slots: r0.slots, cold, warm, parse, warmMBps: mbps(warm), coldMBps: mbps(cold) };
    tpRows.push([
      id, `${num(r0.bytes / 1024, 0)} KB / ${r0.lines} lines`, `${r0.slots}/${r0.symbols}`,
      range(warm), range(mbps(warm), 2), range(cold), range(mbps(cold), 2), range(parse),
      `${num(r0.outBytes / r0.bytes, 2)}×`,
    ]);
  }
  tables.push({
    title: `instrument() throughput (real instrumenter, meriyah): ms; cold = first call in a fresh process; ${tpProcs} processes per file [min–max]`,
    notes: ['warm: typescript.js after 1 unrecorded call (3 recorded); the other files after 20 unrecorded calls (20 recorded); parse only: the same parser and options, after the warm calls'],
    columns: ['file', 'size', 'slots/symbols', 'warm ms', 'warm MB/s', 'cold ms', 'cold MB/s', 'parse only (warm) ms', 'out/in'],
    rows: tpRows,
  });
  const tsT = data.throughput['typescript/lib/typescript.js'];
  summary.push(target('instrument() throughput on typescript.js, warm', `${range(tsT.warmMBps, 2)} MB/s`, '≥ 8 MB/s', tsT.warmMBps.median >= 8));
  summary.push(target('instrument() throughput on typescript.js, cold (first call)', `${range(tsT.coldMBps, 2)} MB/s`, 'report', null));
  const typical = Object.entries(data.throughput).filter(([, t]) => t.lines >= 900 && t.lines <= 2200);
  if (typical.length) {
    const worstWarm = Math.max(...typical.map(([, t]) => t.warm.median));
    const worstCold = Math.max(...typical.map(([, t]) => t.cold.median));
    const names = typical.map(([id, t]) => `${id.split('/')[0]} ${num(t.warm.median, 1)}/${num(t.cold.median, 0)}`).join(', ');
    summary.push(target('instrument() of a 1–2k-line module, warm (worst)', `${num(worstWarm, 1)} ms (warm/cold: ${names})`,
      '≤ 10 ms (design budget)', worstWarm <= 10));
    summary.push(target('instrument() of a 1–2k-line module, cold: first call in a process (worst)', `${num(worstCold, 1)} ms`,
      '≤ 50 ms (design budget)', worstCold <= 50));
  }

  // ---------------------------------------------------------------- (2) startup
  const requireChild = path.join(BENCH, 'lib', 'startup-require-child.cjs');
  const warmCache = path.join(dir, 'cache-warm');
  const protoDirs = { noEval: path.join(dir, 'cache-no-eval'), noPrologue: path.join(dir, 'cache-no-prologue') };
  for (const d of [warmCache, ...Object.values(protoDirs)]) fs.mkdirSync(d, { recursive: true });
  log('startup: populating the warm cache');
  const populate = await runChild(requireChild, { register: true, env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: warmCache }, cwd: dir, timeout: 600_000 });
  const derived = deriveCaches(warmCache, protoDirs);

  let coldN = 0;
  const VARIANTS = [
    { name: 'none', label: 'no livepatch', register: false },
    { name: 'loader', label: 'loader, typescript excluded', register: true, root: path.join(dir, 'loader-only'), cache: () => warmCache },
    { name: 'cold', label: 'instrumented, cold cache', register: true, cache: () => freshDir('startup', 'cold', String(coldN++)) },
    { name: 'warm', label: 'instrumented, warm cache', register: true, cache: () => warmCache },
    { name: 'noEval', label: 'scratch: warm, no scope closures', register: true, cache: () => protoDirs.noEval, proto: true },
    { name: 'noPrologue', label: 'scratch: warm, no prologues', register: true, cache: () => protoDirs.noPrologue, proto: true },
  ];
  const startupProcs = q ? 2 : 9;
  const runs = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
  for (let p = 0; p < startupProcs; p++) {
    log(`startup: require('typescript') round ${p + 1}/${startupProcs}`);
    for (const v of rotate(VARIANTS, p)) {
      const env = v.register ? { LIVEPATCH_ROOT: v.root ?? dir, LIVEPATCH_CACHE: v.cache() } : {};
      runs[v.name].push(await runChild(requireChild, { register: v.register, env, cwd: dir, timeout: 600_000 }));
    }
  }
  fs.rmSync(path.join(dir, 'cold'), { recursive: true, force: true });
  for (const v of ['cold', 'warm', 'noEval', 'noPrologue']) {
    const n = runs[v][0].instrumentedFunctions;
    if (!(n > 0)) throw new Error(`variant ${v}: typescript was not instrumented (${n})`);
  }
  if (runs.loader[0].instrumentedFunctions) throw new Error('variant loader: typescript was instrumented');

  // Ratios per round (neighbouring processes), then summarised.
  const per = (name, key) => summarize(runs[name].map((r) => r[key]));
  const rel = (name, key) => summarize(runs[name].map((r, i) => r[key] / runs.none[i][key]));
  const stRows = [];
  data.startup = {};
  for (const v of VARIANTS) {
    const d = {
      ready: per(v.name, 'readyMs'), require: per(v.name, 'requireMs'), wall: per(v.name, 'wallMs'),
      rss: per(v.name, 'rssMB'), heap: per(v.name, 'heapUsedMB'), cpu: per(v.name, 'cpuMs'), cpuRatio: rel(v.name, 'cpuMs'),
      readyRatio: rel(v.name, 'readyMs'), requireRatio: rel(v.name, 'requireMs'), wallRatio: rel(v.name, 'wallMs'),
    };
    d.rssDelta = summarize(runs[v.name].map((r, i) => r.rssMB - runs.none[i].rssMB));
    data.startup[v.name] = d;
    stRows.push([
      v.label, range(d.ready), ratio(d.readyRatio, 2), range(d.require), ratio(d.requireRatio, 2), range(d.wall), ratio(d.wallRatio, 2),
      range(d.cpu), ratio(d.cpuRatio, 2),
      range(d.rss, 0), v.name === 'none' ? '' : `${num(d.rssDelta.median, 0)} [${num(d.rssDelta.min, 0)}…${num(d.rssDelta.max, 0)}]`,
    ]);
  }
  tables.push({
    title: `Startup of require('typescript'): ${startupProcs} fresh processes per variant, interleaved; ms and MB, median [min–max]; ratios vs no livepatch, per round`,
    columns: ['variant', 'ready (from process start)', 'ready ratio', 'require()', 'require ratio', 'process wall', 'wall ratio', 'CPU to ready', 'CPU ratio', 'RSS MB', 'ΔRSS MB'],
    rows: stRows,
    notes: [
      `instrumented: ${runs.warm[0].instrumentedFunctions} typescript functions; instrumented output ${num(derived.outBytes / 1e6, 1)} MB ` +
        `(${derived.scopeClosures} scope closures, ${derived.prologues} prologues removed in the no-prologue scratch variant)`,
      'ready = performance.now() right after require() returns (includes node bootstrap and the --import of the loader)',
      'CPU to ready = process.cpuUsage() at ready: all threads (main, ESM loader thread, GC, compiler); robust to waiting for a core',
      'scratch variants are cache entries edited from the real one (no src/ change), to attribute the load cost of the instrumented output',
      `cache populated by one run first (${num(populate.readyMs, 0)} ms ready)`,
    ],
  });
  const s = data.startup;
  summary.push(target('startup require(typescript), warm cache / none (ready time)', ratio(s.warm.readyRatio, 2), '≤ 1.1×', s.warm.readyRatio.median <= 1.1));
  summary.push(target('startup require(typescript), cold cache / none (ready time)', ratio(s.cold.readyRatio, 2), '≤ 1.5×', s.cold.readyRatio.median <= 1.5));
  summary.push(target('same, process CPU time to ready: warm / cold vs none', `${ratio(s.warm.cpuRatio, 2)} / ${ratio(s.cold.cpuRatio, 2)}`, 'report', null));
  summary.push(target('load/compile of the instrumented output: require() warm / none', ratio(s.warm.requireRatio, 2), '≤ 1.3× (design budget)', s.warm.requireRatio.median <= 1.3));
  summary.push(target('RSS of the instrumented output (warm cache) − none', `${num(s.warm.rssDelta.median, 0)} MB [${num(s.warm.rssDelta.min, 0)}…${num(s.warm.rssDelta.max, 0)}]`, 'report (design estimate: +13 MB)', null));

  emit({
    bench: 'startup',
    title: 'Instrumentation throughput and startup of a large program',
    env: envInfo(),
    config: { throughputProcesses: tpProcs, startupProcesses: startupProcs, quick: q },
    tables,
    summary,
    data: { ...data, derived },
  }, args);
});
