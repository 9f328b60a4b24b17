#!/usr/bin/env node
/**
 * `livepatch load`, as a user sees it, against a process serving HTTP:
 *
 * - end to end: from the moment the `livepatch load fix.ts` command starts to
 *   the first response from the new code, seen by two clients that each ask
 *   every millisecond over keep-alive connections; the first load into a
 *   process apart from the later ones (it starts the type stripper); next
 *   to it, the time of `node -e 0` on the same machine in the same run;
 * - what the command reports: the transition time, apart from reading and
 *   compiling the patch;
 * - the longest the server's event loop was held while each load ran
 *   (monitorEventLoopDelay, 1 ms resolution), for the first load into a
 *   fresh process and the tenth.
 *
 * Each load is a small TypeScript patch with atomic replace, so that every
 * load replaces the one before and answers with its own version.
 *
 *     node bench/load.js [--quick] [--json]
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import {
  DIST, REGISTER, emit, ensureBuilt, envInfo, freshDir, log, main, num, parseArgs, quantile, target, writeFiles,
} from './lib/harness.js';

const CLI = path.join(DIST, 'cli', 'index.js');

const SERVER = `import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { version } from './app.js';

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const server = http.createServer((req, res) => {
  if (req.url === '/__delay') {
    // The longest the loop was held since the last reset, in ms.
    res.end(String(delay.max / 1e6));
    delay.reset();
    return;
  }
  res.end(version());
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

const APP = 'export function version() { return \'v0\'; }\n';

const patchSource = (n) => `import { definePatch } from 'livepatch';

export default definePatch({
  name: 'fix-${n}',
  replace: true,
  objects: [{ module: 'app.js', funcs: [{ oldName: 'version', newFunc: (self: unknown): string => 'v${n}' }] }],
});
`;

function get(port, url, agent) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: url, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Starts the server under livepatch; resolves with { port, pid, stop }. */
function startServer(dir) {
  const child = spawn(process.execPath, ['--import', REGISTER, path.join(dir, 'server.js')], {
    cwd: dir, env: { ...process.env, LIVEPATCH_ROOT: dir, LIVEPATCH_CACHE: path.join(dir, 'cache'), LIVEPATCH_RUNTIME_DIR: path.join(dir, 'rt') },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), pid: child.pid, stop: () => { child.kill('SIGKILL'); return exited; } });
    });
    child.on('exit', (code) => reject(new Error(`the server exited ${code}`)));
  });
}

/**
 * One load: the CLI starts at t0; a client requests all the while; the
 * result is when the new version first answered, what the CLI printed, and
 * the longest event-loop block meanwhile.
 */
async function oneLoad(dir, server, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  await get(server.port, '/__delay', agent);
  const want = `v${n}`;
  let firstNewMs = null;
  let polling = true;
  const t0 = performance.now();
  const cli = spawn(process.execPath, [CLI, 'load', path.join(dir, `fix-${n}.ts`), '-p', String(server.pid), '--json'], {
    env: { ...process.env, LIVEPATCH_RUNTIME_DIR: path.join(dir, 'rt') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  cli.stdout.on('data', (d) => (stdout += d));
  // Two clients, each asking every millisecond: the process stays nearly
  // idle, as the target says, and the new code is seen within about 1 ms.
  const pollers = Array.from({ length: 2 }, async () => {
    while (polling) {
      const body = await get(server.port, '/', agent);
      if (body === want && firstNewMs === null) firstNewMs = performance.now() - t0;
      if (firstNewMs !== null) polling = false;
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
  });
  const [code] = await Promise.all([new Promise((resolve) => cli.on('exit', resolve)), ...pollers]);
  const commandMs = performance.now() - t0;
  const blockMs = Number(await get(server.port, '/__delay', agent));
  agent.destroy();
  if (code !== 0) throw new Error(`livepatch load fix-${n} exited ${code}: ${stdout}`);
  const report = JSON.parse(stdout);
  return { firstNewMs, commandMs, blockMs, transitionMs: report.transitionMs ?? null, compileMs: report.compileMs ?? null };
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const q = args.quick;
  const processes = q ? 1 : 3;
  const loadsPerProcess = q ? 10 : 10;
  const dir = freshDir('load');
  const files = { 'package.json': '{ "name": "bench-load", "private": true, "type": "module" }\n', 'server.js': SERVER, 'app.js': APP };
  for (let n = 1; n <= loadsPerProcess; n++) files[`fix-${n}.ts`] = patchSource(n);
  writeFiles(dir, files);

  const loads = [];
  const nodeE0 = [];
  for (let p = 0; p < processes; p++) {
    log(`load: process ${p + 1}/${processes}`);
    const server = await startServer(dir);
    try {
      for (let n = 1; n <= loadsPerProcess; n++) {
        const t = performance.now();
        spawnSync(process.execPath, ['-e', '0']);
        nodeE0.push(performance.now() - t);
        loads.push({ process: p, n, ...await oneLoad(dir, server, n) });
      }
    } finally {
      await server.stop();
    }
  }
  const at = (values, q2) => quantile(values, q2);
  const e2e = loads.map((l) => l.firstNewMs);
  // The first load into a process also starts its type stripper (Node's, a
  // WebAssembly module: tens of ms, off the event loop); later loads find it warm.
  const e2eFirst = loads.filter((l) => l.n === 1).map((l) => l.firstNewMs);
  const e2eLater = loads.filter((l) => l.n > 1).map((l) => l.firstNewMs);
  const cmd = loads.map((l) => l.commandMs);
  const first = loads.filter((l) => l.n === 1).map((l) => l.blockMs);
  const tenth = loads.filter((l) => l.n === 10).map((l) => l.blockMs);
  const nodeP50 = at(nodeE0, 0.5);
  const rows = [
    ['command start → first response from the new code', num(at(e2e, 0.5), 1), num(at(e2e, 0.99), 1), `${num(at(e2e, 0.5) / nodeP50, 2)}×`],
    ['  the first load into a process', num(at(e2eFirst, 0.5), 1), num(at(e2eFirst, 0.99), 1), `${num(at(e2eFirst, 0.5) / nodeP50, 2)}×`],
    ['  the later loads', num(at(e2eLater, 0.5), 1), num(at(e2eLater, 0.99), 1), `${num(at(e2eLater, 0.5) / nodeP50, 2)}×`],
    ['command start → command exit', num(at(cmd, 0.5), 1), num(at(cmd, 0.99), 1), `${num(at(cmd, 0.5) / nodeP50, 2)}×`],
    ['node -e 0 (same run)', num(nodeP50, 1), num(at(nodeE0, 0.99), 1), '1.00×'],
  ];
  const transition = loads.map((l) => l.transitionMs).filter((x) => x !== null);
  const compile = loads.map((l) => l.compileMs).filter((x) => x !== null);
  if (transition.length) rows.push(['transition, as the command reports it', num(at(transition, 0.5), 1), num(at(transition, 0.99), 1), '']);
  if (compile.length) rows.push(['reading and compiling the patch, as the command reports it', num(at(compile, 0.5), 1), num(at(compile, 0.99), 1), '']);
  const tables = [
    {
      title: `livepatch load of a small TypeScript patch into a process serving HTTP: ${loads.length} loads (${processes} processes × ${loadsPerProcess}); ms`,
      columns: ['', 'p50', 'p99', 'p50 vs node -e 0'],
      rows,
    },
    {
      title: 'Longest event-loop block in the serving process while a load ran (monitorEventLoopDelay, 1 ms resolution); ms',
      columns: ['load', 'median', 'max'],
      rows: [['first load into a fresh process', num(at(first, 0.5), 1), num(Math.max(...first), 1)], ['tenth load', num(at(tenth, 0.5), 1), num(Math.max(...tenth), 1)]],
    },
  ];
  const summary = [
    target('livepatch load end to end (command start → new code serving), p50', `${num(at(e2e, 0.5), 1)} ms`, '≤ 150 ms', at(e2e, 0.5) <= 150),
    target('same, p50 vs node -e 0 side by side', `${num(at(e2e, 0.5) / nodeP50, 2)}×`, '≤ 1.5×', at(e2e, 0.5) / nodeP50 <= 1.5),
    target('event-loop block during the first load (max)', `${num(Math.max(...first), 1)} ms`, '≤ 10 ms', Math.max(...first) <= 10),
    target('event-loop block during the tenth load (max)', `${num(Math.max(...tenth), 1)} ms`, '≤ 10 ms', Math.max(...tenth) <= 10),
  ];
  emit({ bench: 'load', title: 'livepatch load, end to end and event-loop blocks', env: envInfo(), config: { processes, loadsPerProcess, quick: q }, tables, summary, data: { loads, nodeE0 } }, args);
});
