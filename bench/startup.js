#!/usr/bin/env node
/**
 * Instrumentation throughput and startup cost.
 *
 * (1) Throughput of the real `instrument()` (`livepatch/internal`) on
 *     TypeScript's 9 MB bundle and on a few typical modules: cold (the first
 *     call in a fresh process) and warm. Parse-only time splits the cost.
 * (2) The fixed cost of livepatch: a process that runs `-e 0`, a process
 *     that runs an empty script file, and a worker thread started by a
 *     process (from `new Worker` to the worker's first message), plain and
 *     under livepatch, interleaved.
 * (3) Startup of two real programs, `require('typescript')` and an express
 *     app with its dependencies, in fresh processes: no livepatch; cold
 *     (empty transform and compile caches: instrument, write both); warm
 *     (livepatch's default: both caches filled); warm without V8's compile
 *     cache (to attribute what the compile cache brings). Interleaved.
 *
 *     node bench/startup.js [--quick] [--json]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, DIST, NODE_MODULES, REGISTER, emit, ensureBuilt, envInfo, freshDir, log, main, mpm, num, parseArgs, range,
  ratio, rotate, runChild, signedRange, summarize, target, writeFiles,
} from './lib/harness.js';

ensureBuilt();
const { formatOf } = await import('livepatch/internal');

const TS = path.join(NODE_MODULES, 'typescript', 'lib', 'typescript.js');

/** Typical modules (each instrumented in its own fresh processes), from this repository's node_modules. */
const MODULES = [
  // ~1k-line modules, a typical application or dependency module.
  path.join(NODE_MODULES, 'send', 'index.js'),
  path.join(NODE_MODULES, 'express', 'lib', 'response.js'),
  path.join(NODE_MODULES, 'router', 'index.js'),
  // Bigger ones.
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

/** Median of a list of wall times of a command run `n` times, interleaved with the others by the caller. */
function wallMs(args, env, cwd) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
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
  const typical = Object.entries(data.throughput).filter(([, t]) => t.lines >= 700 && t.lines <= 2200);
  if (typical.length) {
    const worstWarm = Math.max(...typical.map(([, t]) => t.warm.median));
    const worstCold = Math.max(...typical.map(([, t]) => t.cold.median));
    const names = typical.map(([id, t]) => `${id.split('/')[0]} ${num(t.warm.median, 1)}/${num(t.cold.median, 0)}`).join(', ');
    summary.push(target('instrument() of a ~1k-line module, warm (worst)', `${num(worstWarm, 1)} ms (warm/cold: ${names})`,
      '≤ 10 ms (design budget)', worstWarm <= 10));
    summary.push(target('instrument() of a ~1k-line module, cold: first call in a process (worst)', `${num(worstCold, 1)} ms`,
      '≤ 50 ms (design budget)', worstCold <= 50));
  }

  // ---------------------------------------------------------------- (2) fixed cost
  writeFiles(dir, {
    'empty.js': '',
    'worker-host.js': `import { Worker } from 'node:worker_threads';
const t0 = performance.now();
const worker = new Worker(new URL('./worker.js', import.meta.url));
worker.once('message', () => { process.stdout.write('@@bench-result ' + JSON.stringify({ workerMs: performance.now() - t0 }) + '\\n'); worker.terminate(); });
`,
    'worker.js': "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage('up');\n",
    'type/package.json': '{ "type": "module" }\n',
  });
  fs.renameSync(path.join(dir, 'worker-host.js'), path.join(dir, 'type', 'worker-host.js'));
  fs.renameSync(path.join(dir, 'worker.js'), path.join(dir, 'type', 'worker.js'));
  const fixedEnv = { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: path.join(dir, 'cache-fixed'), LIVEPATCH_CONTROL: '0' };
  const FIXED = [
    { name: '-e 0', plain: ['-e', '0'] },
    { name: 'an empty script', plain: [path.join(dir, 'empty.js')] },
  ];
  const fixedRounds = q ? 10 : 30;
  const fixed = FIXED.map(() => ({ plain: [], livepatch: [] }));
  const worker = { plain: [], livepatch: [] };
  // Warm the caches once, as a service's second start would find them.
  wallMs(['--import', REGISTER, path.join(dir, 'empty.js')], fixedEnv, dir);
  log(`startup: fixed cost, ${fixedRounds} rounds`);
  for (let r = 0; r < fixedRounds; r++) {
    FIXED.forEach((f, i) => {
      fixed[i].plain.push(wallMs(f.plain, {}, dir));
      fixed[i].livepatch.push(wallMs(['--import', REGISTER, ...f.plain], fixedEnv, dir));
    });
    if (r % 3 === 0) {
      worker.plain.push((await runChild(path.join(dir, 'type', 'worker-host.js'), { register: false, cwd: dir })).workerMs);
      worker.livepatch.push((await runChild(path.join(dir, 'type', 'worker-host.js'), { register: true, env: fixedEnv, cwd: dir })).workerMs);
    }
  }
  const fixedRows = [];
  data.fixed = {};
  const addFixed = (name, { plain, livepatch }) => {
    const d = { plain: summarize(plain), livepatch: summarize(livepatch), delta: summarize(livepatch.map((x, i) => x - plain[i])) };
    data.fixed[name] = d;
    fixedRows.push([name, range(d.plain, 1), range(d.livepatch, 1), signedRange(d.delta, 1)]);
    return d;
  };
  const e0 = addFixed('process: node -e 0 (wall)', fixed[0]);
  const script = addFixed('process: an empty script file (wall)', fixed[1]);
  const thread = addFixed('worker thread: new Worker → its first message', worker);
  tables.push({
    title: 'The fixed cost of livepatch, plain vs under livepatch (warm caches, control socket off: it opens on the first turn of the event loop, which these end before); ms, median [min–max]',
    columns: ['what', 'plain', 'livepatch', 'Δ per round'],
    rows: fixedRows,
  });
  for (const [label, d] of [['a process (node -e 0)', e0], ['a process running an empty script', script], ['a worker thread', thread]]) {
    summary.push(target(`fixed cost of livepatch in ${label}`, `${signedRange(d.delta, 1)} ms`, '≤ +15 ms', d.delta.median <= 15));
  }

  // ---------------------------------------------------------------- (3) startup of real programs
  writeFiles(dir, {
    'express-app.cjs': `'use strict';
const t0 = performance.now();
const express = require('express');
const app = express();
app.get('/', (req, res) => res.send('ok'));
const server = app.listen(0, '127.0.0.1', () => {
  const ready = performance.now();
  const cpu = process.cpuUsage();
  const lp = globalThis.__livepatch ? require('livepatch') : null;
  const instrumentedFunctions = lp ? lp.listModules().filter((m) => m.id.startsWith('express/')).reduce((n, m) => n + m.symbols, 0) : null;
  process.stdout.write('@@bench-result ' + JSON.stringify({ readyMs: ready, requireMs: ready - t0, cpuMs: (cpu.user + cpu.system) / 1000, rssMB: process.memoryUsage().rss / 2 ** 20, instrumentedFunctions }) + '\\n');
  server.close();
});
`,
  });
  const PROGRAMS = [
    { name: 'typescript', label: "require('typescript')", child: path.join(BENCH, 'lib', 'startup-require-child.cjs') },
    { name: 'express', label: 'an express app (express and its dependencies instrumented)', child: path.join(dir, 'express-app.cjs') },
  ];
  const startupProcs = q ? 2 : 9;
  data.startup = {};
  for (const program of PROGRAMS) {
    const warmCache = path.join(dir, `cache-${program.name}`);
    log(`startup: ${program.name}: filling the caches`);
    await runChild(program.child, { register: true, env: { LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: warmCache, LIVEPATCH_CONTROL: '0' }, cwd: dir, timeout: 600_000 });
    let coldN = 0;
    const VARIANTS = [
      { name: 'none', label: 'no livepatch', register: false },
      { name: 'cold', label: 'livepatch, cold (empty caches)', register: true, env: () => ({ LIVEPATCH_CACHE: freshDir('startup', 'cold', String(coldN++)) }) },
      { name: 'warm', label: 'livepatch, warm (the default: transform and compile caches)', register: true, env: () => ({ LIVEPATCH_CACHE: warmCache }) },
      { name: 'warmNoCompileCache', label: 'livepatch, warm, without the compile cache', register: true, env: () => ({ LIVEPATCH_CACHE: warmCache, LIVEPATCH_COMPILE_CACHE: '0' }) },
    ];
    const runs = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
    for (let p = 0; p < startupProcs; p++) {
      log(`startup: ${program.name} round ${p + 1}/${startupProcs}`);
      for (const v of rotate(VARIANTS, p)) {
        const env = v.register ? { LIVEPATCH_ROOT: dir, LIVEPATCH_CONTROL: '0', ...v.env() } : {};
        runs[v.name].push(await runChild(program.child, { register: v.register, env, cwd: dir, timeout: 600_000 }));
      }
    }
    fs.rmSync(path.join(dir, 'cold'), { recursive: true, force: true });
    for (const v of ['cold', 'warm', 'warmNoCompileCache']) {
      if (!(runs[v][0].instrumentedFunctions > 0)) throw new Error(`${program.name} ${v}: nothing was instrumented`);
    }
    const rel = (name, key) => summarize(runs[name].map((r, i) => r[key] / runs.none[i][key]));
    const per = (name, key) => summarize(runs[name].map((r) => r[key]));
    const rows = [];
    const d = {};
    for (const v of VARIANTS) {
      d[v.name] = { ready: per(v.name, 'readyMs'), readyRatio: rel(v.name, 'readyMs'), cpu: per(v.name, 'cpuMs'), cpuRatio: rel(v.name, 'cpuMs'), rss: per(v.name, 'rssMB') };
      rows.push([v.label, range(d[v.name].ready), v.name === 'none' ? '' : ratio(d[v.name].readyRatio, 2), range(d[v.name].cpu), v.name === 'none' ? '' : ratio(d[v.name].cpuRatio, 2), range(d[v.name].rss, 0)]);
    }
    data.startup[program.name] = d;
    tables.push({
      title: `Startup of ${program.label}: ${startupProcs} fresh processes per variant, interleaved; ms, median [min–max]; ratios vs no livepatch, per round`,
      columns: ['variant', 'ready (from process start)', 'ready ratio', 'CPU to ready', 'CPU ratio', 'RSS MB'],
      rows,
      notes: [`instrumented functions: ${runs.warm[0].instrumentedFunctions}`, 'ready = performance.now() once the program is usable (node bootstrap and livepatch/register included)'],
    });
    summary.push(target(`startup of ${program.label}, warm / none (ready)`, ratio(d.warm.readyRatio, 2), '≤ 1.10×', d.warm.readyRatio.median <= 1.1));
    summary.push(target(`startup of ${program.label}, cold / none (ready)`, ratio(d.cold.readyRatio, 2), '≤ 1.5×', d.cold.readyRatio.median <= 1.5));
  }

  emit({
    bench: 'startup',
    title: 'Instrumentation throughput and startup of a large program',
    env: envInfo(),
    config: { throughputProcesses: tpProcs, fixedRounds, startupProcesses: startupProcs, quick: q },
    tables,
    summary,
    data,
  }, args);
});
