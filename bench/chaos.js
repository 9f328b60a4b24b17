#!/usr/bin/env node
/**
 * A chaos run: a service under livepatch (lib/chaos-server.js) serves a
 * bounded keep-alive load on loopback, some requests parked for seconds
 * inside the patched async function, while an operator loads, unloads,
 * replaces, reverses and forces patches at random through the `livepatch`
 * command. Every patch replaces both functions a response comes from, so a
 * response is consistent when the handler that ran and the two versions it
 * read agree; a mixed one is excused only when a forced transition fell in
 * its lifetime, as force allows.
 *
 * It prints the requests served, the failures, the mixed responses outside
 * forced transitions, crashes of the service, its RSS and heap growth (after
 * garbage collection, from after warm-up to after the last patch is gone),
 * the operations by outcome, and what was left: tasks, loaded and pinned
 * patches. Not part of the test suite: it runs for minutes.
 *
 *     node bench/chaos.js [--seconds 300] [--connections 16] [--quick] [--json]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DIST, ensureBuilt, freshDir, log, main, nowMs, parseArgs, REGISTER, writeFiles } from './lib/harness.js';

const CLI = path.join(DIST, 'cli', 'index.js');
const SERVER = path.join(path.dirname(new URL(import.meta.url).pathname), 'lib', 'chaos-server.js');
const randomInt = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** The patch module of version `n`: both functions replaced, answering `v<n>`; a cumulative one with `replace`. */
function patchSource(n, replace) {
  return `import { setTimeout as sleep } from 'node:timers/promises';
import { definePatch, withScope } from 'livepatch';
export default definePatch({
  name: 'v${n}',
  replace: ${replace},
  objects: [{ module: 'chaos-server.js', funcs: [
    { oldName: 'version', newFunc: () => 'v${n}' },
    { oldName: 'handle', newFunc: withScope((scope) => async (self, ms) => {
      const before = scope.version();
      await sleep(ms);
      return { handler: 'v${n}', before, after: scope.version() };
    }) },
  ] }],
});
`;
}

/** Starts the service, its stderr (livepatch's log lines) in `<dir>/service.log`; resolves with its child process and port. */
function startServer(dir) {
  const child = spawn(process.execPath, ['--expose-gc', '--import', REGISTER, path.join(dir, 'chaos-server.js')], {
    cwd: dir, env: { ...process.env, LIVEPATCH_RUNTIME_DIR: path.join(dir, 'rt'), LIVEPATCH_CACHE: path.join(dir, 'cache') },
    stdio: ['ignore', 'pipe', fs.openSync(path.join(dir, 'service.log'), 'w')],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const match = /port (\d+)/.exec(out);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.on('exit', (code) => reject(new Error(`the service exited at start (${code})`)));
  });
}

/** Runs `livepatch <args> --json` against the service; resolves with its exit code and parsed output. */
function cli(dir, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], { env: { ...process.env, LIVEPATCH_RUNTIME_DIR: path.join(dir, 'rt') } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      let json = null;
      try {
        json = JSON.parse(out);
      } catch { /* not every command prints one document; the code says what happened */ }
      resolve({ code, json });
    });
  });
}

function get(agent, port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
  });
}

/** How long a request parks in handle: mostly not at all, sometimes long enough to hold a transition. */
function parkMs() {
  const r = Math.random();
  if (r < 0.75) return randomInt(0, 5);
  if (r < 0.98) return randomInt(20, 200);
  return randomInt(500, 3000);
}

/** The forced transitions of the run: from before the command that forced each to after it ended. */
const forced = [];
const duringForce = (start, end) => forced.some((force) => force.from <= end && force.to >= start);

const newTally = () => ({ requests: 0, failures: 0, mixed: 0, mixedDuringForce: 0, crashes: 0, operations: {}, mixedExamples: [], failureExamples: [] });

/** One keep-alive connection's closed loop of requests until `until()` is false. */
async function requestLoop(agent, port, tally, until) {
  while (until()) {
    const start = nowMs();
    try {
      const body = JSON.parse(await get(agent, port, `/?park=${parkMs()}`));
      tally.requests++;
      if (body.handler !== body.before || body.before !== body.after) {
        if (duringForce(start, nowMs())) tally.mixedDuringForce++;
        else {
          tally.mixed++;
          if (tally.mixedExamples.length < 5) tally.mixedExamples.push(body);
        }
      }
    } catch (err) {
      tally.failures++;
      if (tally.failureExamples.length < 5) tally.failureExamples.push(err.message);
    }
  }
}

/** One operation at random, given the state `list` reported; resolves with its name and outcome. */
async function operate(dir, state, next) {
  const transition = state?.transition;
  const patches = state?.patches ?? [];
  const choices = ['load', 'load', 'replace', ...(patches.length ? ['unload', 'unload'] : []), ...(transition ? ['reverse', 'force'] : [])];
  const op = pick(choices);
  const wait = ['--wait', String(randomInt(2, 20) / 10), ...(Math.random() < 0.5 ? ['--keep'] : [])];
  if (op === 'load' || op === 'replace') {
    const n = next();
    writeFiles(dir, { [`patches/v${n}.js`]: patchSource(n, op === 'replace') });
    return [op, await cli(dir, ['load', path.join(dir, 'patches', `v${n}.js`), ...wait])];
  }
  if (op === 'unload') return [op, await cli(dir, ['unload', pick(patches).name, ...wait])];
  const target = transition.patch;
  if (op === 'reverse') return [op, await cli(dir, ['sys', `${target}/enabled`, transition.target === 'patched' ? '0' : '1'])];
  const force = { from: nowMs(), to: Infinity };
  forced.push(force);
  const result = await cli(dir, ['sys', `${target}/force`, '1']);
  force.to = nowMs();
  return [op, result];
}

/** Counts an operation by its outcome: `ok`, `stalled` (exit 3), or its error code. */
function countOperation(tally, [op, { code, json }]) {
  const outcome = code === 0 ? 'ok' : code === 3 ? 'stalled' : json?.error?.code ?? `exit ${code}`;
  tally.operations[op] ??= {};
  tally.operations[op][outcome] = (tally.operations[op][outcome] ?? 0) + 1;
}

/** Unloads every patch, forcing a transition that does not complete, until none is left. */
async function unloadAll(dir) {
  for (let round = 0; round < 20; round++) {
    const { json } = await cli(dir, ['list']);
    if (json?.transition) await cli(dir, ['sys', `${json.transition.patch}/force`, '1']);
    if (!json?.patches?.length && !json?.transition) return;
    for (const { name } of json?.patches ?? []) await cli(dir, ['unload', name, '--wait', '5']);
  }
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const seconds = Number(args.rest[args.rest.indexOf('--seconds') + 1]) || (args.quick ? 20 : 300);
  const connections = Number(args.rest[args.rest.indexOf('--connections') + 1]) || 16;
  const dir = freshDir('chaos');
  writeFiles(dir, { 'package.json': '{ "type": "module" }\n', 'chaos-server.js': fs.readFileSync(SERVER, 'utf8') });
  const { child, port } = await startServer(dir);
  const tally = newTally();
  child.on('exit', (code, signal) => {
    tally.crashes++;
    log(`the service exited: ${code ?? signal}`);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const warmEnd = nowMs() + 2000;
  const warmUp = newTally();
  await Promise.all(Array.from({ length: connections }, () => requestLoop(agent, port, warmUp, () => nowMs() < warmEnd)));
  const memoryBefore = JSON.parse(await get(agent, port, '/__stats'));
  log(`chaos: ${seconds} s, ${connections} connections, service pid ${child.pid}, its log in ${path.join(dir, 'service.log')}`);
  const end = nowMs() + seconds * 1000;
  const running = () => nowMs() < end && tally.crashes === 0;
  let n = 0;
  const operator = (async () => {
    while (running()) {
      countOperation(tally, await operate(dir, (await cli(dir, ['list'])).json, () => ++n));
      await new Promise((resolve) => setTimeout(resolve, randomInt(100, 600)));
    }
  })();
  await Promise.all([operator, ...Array.from({ length: connections }, () => requestLoop(agent, port, tally, running))]);
  await unloadAll(dir);
  const memoryAfter = JSON.parse(await get(agent, port, '/__stats'));
  const tasks = (await cli(dir, ['tasks'])).json?.tasks ?? [];
  const list = (await cli(dir, ['list'])).json ?? {};
  agent.destroy();
  child.removeAllListeners('exit');
  child.kill();
  const report = {
    seconds, connections, patchesWritten: n,
    requests: tally.requests, failures: tally.failures,
    mixedOutsideForce: tally.mixed, mixedDuringForce: tally.mixedDuringForce, forcedTransitions: forced.length,
    crashes: tally.crashes,
    rssGrowthMB: (memoryAfter.rss - memoryBefore.rss) / 2 ** 20,
    heapGrowthMB: (memoryAfter.heapUsed - memoryBefore.heapUsed) / 2 ** 20,
    leftoverTasks: tasks.filter((t) => t.id !== 0).length,
    leftoverPatches: (list.patches ?? []).map((p) => p.name),
    pinnedPatches: (list.pinned ?? []).map((p) => p.name),
    operations: tally.operations,
    mixedExamples: tally.mixedExamples, failureExamples: tally.failureExamples,
  };
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  for (const [key, value] of Object.entries(report)) console.log(`${key.padEnd(18)} ${typeof value === 'number' ? Number(value.toFixed(2)) : JSON.stringify(value)}`);
});
