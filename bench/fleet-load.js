#!/usr/bin/env node
/**
 * `livepatch load --all` on 8 processes: from the command's start (the
 * spawn of `livepatch`) until every process runs the new code, that is
 * until the command exits having seen every process complete its
 * transition. Each round loads the patch into the 8 processes of one
 * application and unloads it again (not timed).
 *
 * Side by side, in the same rounds: the same patch loaded with `load -p
 * PID` into each process, one command after another, as an operator
 * without `--all` would; the ratio is taken round by round.
 *
 *     node bench/fleet-load.js [--quick] [--json]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  DIST, REGISTER, emit, ensureBuilt, envInfo, freshDir, log, main, median, nowMs, num, parseArgs, quantile, range, ratio, summarize,
  target, writeFiles,
} from './lib/harness.js';

const PROCESSES = 8;
const CLI = path.join(DIST, 'cli', 'index.js');

/** Runs the CLI; resolves with its stdout, or rejects with its output when it fails. */
function cli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`livepatch ${args.join(' ')} exited ${code}\n${out}\n${err}`))));
  });
}

/** Starts one process of the application under livepatch; resolves once its control socket is there. */
async function startProcess(dir, env) {
  const child = spawn(process.execPath, ['--import', REGISTER, path.join(dir, 'app.js')], { cwd: dir, env, stdio: 'ignore' });
  const socket = path.join(env.LIVEPATCH_RUNTIME_DIR, `${child.pid}.sock`);
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(socket)) {
    if (Date.now() > deadline) throw new Error(`process ${child.pid} opened no control socket`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const rounds = args.quick ? 5 : 20;
  const dir = freshDir('fleet-load');
  writeFiles(dir, {
    'package.json': '{ "name": "bench-fleet", "private": true, "type": "module" }\n',
    'app.js': 'export function version() {\n  return 1;\n}\n// A service: it stays up, and calls version() now and then.\nsetInterval(() => version(), 100);\n',
    'fix.js': `import { definePatch } from 'livepatch';\nexport default definePatch({ name: 'fix', objects: [{ module: 'app.js', funcs: [{ oldName: 'version', newFunc: () => 2 }] }] });\n`,
  });
  const runtimeDir = path.join(dir, 'rt');
  const env = { ...process.env, LIVEPATCH_RUNTIME_DIR: runtimeDir, LIVEPATCH_CACHE: '0' };
  const patch = path.join(dir, 'fix.js');
  log(`fleet-load: starting ${PROCESSES} processes`);
  const children = [];
  try {
    for (let i = 0; i < PROCESSES; i++) children.push(await startProcess(dir, env));
    const all = [];
    const lastInside = [];
    const each = [];
    const ratios = [];
    for (let round = 0; round < rounds; round++) {
      log(`fleet-load: round ${round + 1}/${rounds}`);
      let started = nowMs();
      const result = JSON.parse(await cli(['load', patch, '--all', '--json'], env));
      all.push(nowMs() - started);
      if (result.processes.length !== PROCESSES || !result.complete) throw new Error(`load --all: ${JSON.stringify(result)}`);
      lastInside.push(Math.max(...result.processes.map((p) => p.ms)));
      await cli(['unload', 'fix', '--all', '--json'], env);
      started = nowMs();
      for (const child of children) await cli(['load', patch, '-p', String(child.pid), '--json'], env);
      each.push(nowMs() - started);
      await cli(['unload', 'fix', '--all', '--json'], env);
      ratios.push(each.at(-1) / all.at(-1));
    }
    const row = (name, samples) => [name, String(samples.length), num(median(samples), 1), num(quantile(samples, 0.99), 1), range(summarize(samples), 1)];
    const tables = [{
      title: `Command start to every one of ${PROCESSES} processes on the new code, ms (${rounds} rounds)`,
      columns: ['how', 'rounds', 'p50', 'p99', 'median [min–max]'],
      rows: [
        row(`livepatch load --all (${PROCESSES} processes at once)`, all),
        row('  of which: inside the command, until the last process completed', lastInside),
        row(`${PROCESSES} × livepatch load -p PID, one after another`, each),
      ],
      notes: [
        'wall time from spawning the CLI until it exited; the CLI exits once every process completed its transition',
        'each process is a separate node process under livepatch, idle but for a 100 ms timer; one round loads, then unloads (not timed)',
        `ratio of the two, round by round: ${ratio(summarize(ratios), 2)}`,
      ],
    }];
    emit({
      bench: 'fleet-load',
      title: `load --all on ${PROCESSES} processes`,
      env: envInfo(),
      config: { processes: PROCESSES, rounds, quick: args.quick },
      tables,
      summary: [
        target(`load --all, ${PROCESSES} processes: command start → all on new code, p50`, `${num(median(all), 1)} ms (p99 ${num(quantile(all, 0.99), 1)} ms, n=${all.length})`, 'report', null),
        target(`${PROCESSES} × load -p, one after another, p50`, `${num(median(each), 1)} ms (${ratio(summarize(ratios), 2)} of load --all)`, 'comparison', null),
      ],
      data: { all, lastInside, each, ratios },
    }, args);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
});
