#!/usr/bin/env node
/**
 * HTTP request throughput, for two applications: a small node:http server
 * whose handler awaits two async functions of the application, and an
 * express server whose route awaits an application function that awaits 20
 * times (a request path with many awaits, express itself instrumented too).
 * Each runs with no livepatch,
 * under livepatch in per-task mode (the default: one task per request) and
 * in global mode, plus a server without livepatch that enters an
 * AsyncLocalStorage store per request (to separate the cost of ALS itself,
 * which per-task mode turns on, from livepatch's own). The load generator is a separate process: a bounded,
 * closed-loop keep-alive client (N connections, fixed duration, warm-up not
 * counted) written with node:http. The three variants are interleaved,
 * each run with a fresh server process; ratios are taken per round (the
 * neighbouring runs) and summarised as median [min–max]. The server's CPU
 * time per request (its own process.cpuUsage() over the measured window)
 * is reported as a noise-robust cross-check.
 *
 *     node bench/http.js [--quick] [--json]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  BENCH, REGISTER, emit, ensureBuilt, envInfo, freshDir, log, main, parseArgs, range, ratio, rotate,
  runChild, summarize, target, writeFiles,
} from './lib/harness.js';

const APP = `// The application: two async functions the handler awaits.
const users = new Map();
for (let i = 0; i < 100; i++) users.set('/u/' + i, { id: i, name: 'user' + i, tags: ['a', 'b', String(i % 7)] });

export async function loadUser(url) {
  await null;
  return users.get(url) ?? { id: -1, name: 'anonymous', tags: [] };
}

export async function render(user) {
  await null;
  return JSON.stringify({ ok: true, user, at: user.id * 2 });
}
`;

const SERVER = `import http from 'node:http';
import { loadUser, render } from './app.js';

// BENCH_ALS=1: no livepatch, but every request runs in its own
// AsyncLocalStorage store, entered the way tracing libraries (and livepatch's
// per-task mode) do, so that the cost of ALS itself can be told apart.
if (process.env.BENCH_ALS === '1') {
  const { AsyncLocalStorage } = await import('node:async_hooks');
  const diagnostics = await import('node:diagnostics_channel');
  const als = new AsyncLocalStorage();
  let id = 0;
  diagnostics.subscribe('http.server.request.start', () => als.enterWith({ id: ++id }));
}

let requests = 0;
const server = http.createServer(async (req, res) => {
  requests++;
  if (req.url === '/__stats') {
    const cpu = process.cpuUsage();
    const lp = globalThis.__livepatch ? await import('livepatch') : null;
    const table = lp?.moduleSymbols('app.js');
    res.end(JSON.stringify({
      requests, cpuUs: cpu.user + cpu.system,
      mode: lp ? lp.consistency() : process.env.BENCH_ALS === '1' ? 'als' : 'none',
      instrumented: table ? table.symbols.filter((s) => s.slot >= 0).length : 0,
    }));
    return;
  }
  const user = await loadUser(req.url);
  const body = await render(user);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

const EXPRESS_APP = `// The application: a request path with 20 awaits of instrumented async functions.
export async function step(v) {
  await null;
  return v + 1;
}

export async function handle(url) {
  let v = 0;
  for (let i = 0; i < 20; i++) v = await step(v);
  return { ok: true, v, url };
}
`;

const EXPRESS_SERVER = `import express from 'express';
import { handle } from './app.js';

if (process.env.BENCH_ALS === '1') {
  const { AsyncLocalStorage } = await import('node:async_hooks');
  const diagnostics = await import('node:diagnostics_channel');
  const als = new AsyncLocalStorage();
  let id = 0;
  diagnostics.subscribe('http.server.request.start', () => als.enterWith({ id: ++id }));
}

let requests = 0;
const app = express();
app.get('/__stats', async (req, res) => {
  const cpu = process.cpuUsage();
  const lp = globalThis.__livepatch ? await import('livepatch') : null;
  const table = lp?.moduleSymbols('app.js');
  res.json({
    requests, cpuUs: cpu.user + cpu.system,
    mode: lp ? lp.consistency() : process.env.BENCH_ALS === '1' ? 'als' : 'none',
    instrumented: table ? table.symbols.filter((s) => s.slot >= 0).length : 0,
  });
});
app.get('/u/:id', async (req, res) => {
  requests++;
  res.json(await handle(req.url));
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

const APPS = [
  { name: 'http', label: 'node:http, 2 awaits per request', files: { 'app.js': APP, 'server.js': SERVER } },
  { name: 'express', label: 'express, 20 awaits per request', files: { 'app.js': EXPRESS_APP, 'server.js': EXPRESS_SERVER } },
];

const VARIANTS = [
  { name: 'plain', label: 'no livepatch', register: false, env: {} },
  { name: 'als', label: 'no livepatch, ALS store per request', register: false, env: { BENCH_ALS: '1' } },
  { name: 'per-task', label: 'livepatch, per-task', register: true, env: { LIVEPATCH_CONSISTENCY: 'per-task' } },
  { name: 'global', label: 'livepatch, global', register: true, env: { LIVEPATCH_CONSISTENCY: 'global' } },
];

/** Starts a server process and resolves with { port, stop }. */
function startServer(dir, variant) {
  const args = [...(variant.register ? ['--import', REGISTER] : []), path.join(dir, 'server.js')];
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: path.join(dir, 'cache'), ...variant.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`server (${variant.name}) did not start\n${stderr}`));
    }, 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stop });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server (${variant.name}) exited ${code} before listening\n${stderr}`));
    });
  });
}

/** Runs every variant of one application, interleaved by round; returns each variant's runs. */
async function runApp(app, { rounds, load }) {
  const dir = freshDir('http', app.name);
  writeFiles(dir, { 'package.json': `{ "name": "bench-http-${app.name}", "private": true, "type": "module" }\n`, ...app.files });
  const loadGen = path.join(BENCH, 'lib', 'http-load.js');
  const runs = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of rotate(VARIANTS, r)) {
      log(`http: ${app.name} ${v.name} run ${r + 1}/${rounds}`);
      const server = await startServer(dir, v);
      try {
        const res = await runChild(loadGen, { args: [JSON.stringify({ port: server.port, ...load })], cwd: dir, timeout: 120_000 });
        const wantMode = v.register ? v.name : v.name === 'als' ? 'als' : 'none';
        if (res.mode !== wantMode) throw new Error(`server ran in mode ${res.mode}, expected ${wantMode}`);
        if (v.register && !(res.instrumented > 0)) throw new Error('app.js is not instrumented');
        if (res.errors > 0) log(`http: ${res.errors} errors in ${app.name} ${v.name} run ${r + 1}`);
        runs[v.name].push(res);
      } finally {
        await server.stop();
      }
    }
  }
  return runs;
}

/** The table of one application, and its figures. */
function report(app, runs, { rounds, load }) {
  const data = {};
  const rows = [];
  for (const v of VARIANTS) {
    const rs = runs[v.name];
    const d = {
      rps: summarize(rs.map((x) => x.rps)),
      p50: summarize(rs.map((x) => x.p50)),
      p99: summarize(rs.map((x) => x.p99)),
      cpu: summarize(rs.map((x) => x.serverCpuUsPerRequest)),
      rpsRatio: summarize(rs.map((x, i) => x.rps / runs.plain[i].rps)),
      cpuRatio: summarize(rs.map((x, i) => x.serverCpuUsPerRequest / runs.plain[i].serverCpuUsPerRequest)),
      errors: rs.reduce((a, x) => a + x.errors, 0),
    };
    data[v.name] = d;
    rows.push([
      v.label, range(d.rps, 0), v.name === 'plain' ? '' : ratio(d.rpsRatio), range(d.p50, 2), range(d.p99, 2),
      range(d.cpu, 1), v.name === 'plain' ? '' : ratio(d.cpuRatio), String(d.errors),
    ]);
  }
  const overAls = summarize(runs['per-task'].map((x, i) => x.rps / runs.als[i].rps));
  const cpuOverAls = summarize(runs['per-task'].map((x, i) => x.serverCpuUsPerRequest / runs.als[i].serverCpuUsPerRequest));
  const table = {
    title: `HTTP throughput, ${app.label}: ${rounds} interleaved runs per variant (fresh server each), ${load.connections} keep-alive connections, ${load.durationMs / 1000} s after ${load.warmupMs / 1000} s warm-up; median [min–max]`,
    columns: ['server', 'req/s', 'vs plain (per round)', 'latency p50 ms', 'latency p99 ms', 'server CPU µs/req', 'CPU/req vs plain', 'errors'],
    rows,
    notes: [
      `instrumented app functions under livepatch: ${runs['per-task'][0].instrumented}; per-task mode runs each request in its own task (AsyncLocalStorage)`,
      `livepatch per-task vs the ALS-per-request server (ALS itself not counted): throughput ${ratio(overAls)}, server CPU per request ${ratio(cpuOverAls)}`,
      'server and load generator are separate processes on the same 2 shared cores; req/s is bounded by both',
    ],
  };
  return { table, data: { ...data, overAls, cpuOverAls } };
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const q = args.quick;
  const config = { rounds: q ? 2 : 7, load: { connections: 16, warmupMs: q ? 300 : 1000, durationMs: q ? 1000 : 4000 } };
  const tables = [];
  const data = {};
  const summary = [];
  for (const app of APPS) {
    const runs = await runApp(app, config);
    const { table, data: d } = report(app, runs, config);
    tables.push(table);
    data[app.name] = { runs, ...d };
    const perTask = d['per-task'];
    const global = d.global;
    summary.push(
      target(`HTTP throughput, ${app.label}: livepatch per-task / plain`, ratio(perTask.rpsRatio), '≥ 0.95×', perTask.rpsRatio.median >= 0.95),
      target(`HTTP throughput, ${app.label}: livepatch global / plain`, ratio(global.rpsRatio), '≥ 0.98×', global.rpsRatio.median >= 0.98),
      target(`server CPU per request, ${app.label}: per-task / global vs plain`, `${ratio(perTask.cpuRatio)} / ${ratio(global.cpuRatio)}`, 'report', null),
    );
  }
  emit({
    bench: 'http',
    title: 'HTTP server throughput under livepatch',
    env: envInfo(),
    config: { ...config, quick: q },
    tables,
    summary,
    data,
  }, args);
});
