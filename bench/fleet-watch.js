#!/usr/bin/env node
/**
 * A fleet converging to a patch directory: eight processes under livepatch
 * watch one directory laid out as a Kubernetes ConfigMap volume; each round
 * publishes a new cumulative patch by swapping `..data` (the kubelet's
 * atomic update) and measures, from the swap, how long each process took
 * to report the new patch `applied` in its status file, and how long until
 * all eight had. The time each process reports is its own (`since` in its
 * status file, the moment its watch saw the transition complete), so the
 * polling of this script adds nothing to it.
 *
 *     node bench/fleet-watch.js [--quick] [--json]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  emit, ensureBuilt, envInfo, freshDir, log, main, median, num, parseArgs, quantile, range, REGISTER, summarize, target, writeFiles,
} from './lib/harness.js';

const PROCESSES = 8;

const SERVER = `import http from 'node:http';
export function greet(name) {
  return 'hello ' + name;
}
const server = http.createServer((req, res) => res.end(greet('world') + '\\n'));
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`;

const patchSource = (version) => `import { definePatch } from 'livepatch';
export default definePatch({
  name: 'fleet-${version}',
  replace: true,
  objects: [{ module: 'src/server.js', funcs: [{ oldName: 'greet', newFunc: (self, name) => 'v${version} ' + name }] }],
});
`;

/** The kubelet's AtomicWriter: the new version in a timestamped directory, then `..data` swapped to it by a rename. */
function publish(dir, version) {
  const stamp = `..2026_11_26_00_00_00.${version}`;
  fs.mkdirSync(path.join(dir, stamp));
  fs.writeFileSync(path.join(dir, stamp, 'patch.js'), patchSource(version));
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
  const swappedAt = Date.now();
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  if (!fs.existsSync(path.join(dir, 'patch.js'))) fs.symlinkSync(path.join('..data', 'patch.js'), path.join(dir, 'patch.js'));
  const previous = `..2026_11_26_00_00_00.${version - 1}`;
  fs.rmSync(path.join(dir, previous), { recursive: true, force: true });
  return swappedAt;
}

/** The `patch.js` entry of a process's status file once it runs `fleet-<version>`; null before. */
function appliedEntry(rt, pid, version) {
  try {
    const status = JSON.parse(fs.readFileSync(path.join(rt, `${pid}.status.json`), 'utf8'));
    const entry = status.patches.find((p) => p.file === 'patch.js');
    return entry?.name === `fleet-${version}` && entry.state === 'applied' ? entry : null;
  } catch {
    return null;
  }
}

async function until(fn, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function start(app, env) {
  const child = spawn(process.execPath, ['--import', REGISTER, path.join(app, 'src', 'server.js')], {
    cwd: app, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/port \d+/.test(out)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`a fleet process exited ${code} before it listened`)));
  });
}

main(async () => {
  const args = parseArgs();
  ensureBuilt();
  const rounds = args.quick ? 5 : 30;
  const work = freshDir('fleet-watch');
  fs.chmodSync(work, 0o700);
  const app = path.join(work, 'app');
  writeFiles(app, { 'package.json': '{ "type": "module" }\n', 'src/server.js': SERVER });
  const dir = path.join(work, 'patches');
  const rt = path.join(work, 'rt');
  fs.mkdirSync(dir);
  publish(dir, 0);
  const env = { LIVEPATCH_WATCH_DIR: dir, LIVEPATCH_RUNTIME_DIR: rt, LIVEPATCH_CACHE: '0' };
  log(`fleet-watch: starting ${PROCESSES} processes`);
  const children = await Promise.all(Array.from({ length: PROCESSES }, () => start(app, env)));
  try {
    for (const c of children) await until(() => appliedEntry(rt, c.pid, 0), `process ${c.pid} to apply fleet-0`);
    const perProcess = [];
    const all = [];
    for (let version = 1; version <= rounds; version++) {
      const swappedAt = publish(dir, version);
      const entries = [];
      for (const c of children) entries.push(await until(() => appliedEntry(rt, c.pid, version), `process ${c.pid} to apply fleet-${version}`));
      const times = entries.map((e) => e.since - swappedAt);
      perProcess.push(...times);
      all.push(Math.max(...times));
      log(`fleet-watch: round ${version}/${rounds}: all ${PROCESSES} converged in ${Math.max(...times)} ms`);
    }
    const allS = summarize(all);
    const data = { all, perProcess, rounds, processes: PROCESSES };
    emit({
      bench: 'fleet-watch',
      title: `A fleet converging to a patch directory: ${PROCESSES} processes, ConfigMap ..data swap`,
      env: envInfo(),
      config: { processes: PROCESSES, rounds, quick: args.quick },
      tables: [{
        title: 'From the swap of ..data to the new cumulative patch applied, as each process reports it (status file `since`), ms',
        columns: ['', 'rounds', 'p50', 'p99', 'max'],
        rows: [
          [`all ${PROCESSES} converged (the slowest of each round)`, String(rounds), range(allS, 0), num(quantile(all, 0.99), 0), num(allS.max, 0)],
          ['one process', String(perProcess.length), num(median(perProcess), 0), num(quantile(perProcess, 0.99), 0), num(Math.max(...perProcess), 0)],
        ],
        notes: [
          'each process reads the directory every 250 ms and on its fs.watch events, and takes a version once it has not changed for 200 ms',
          'p50 of "all converged" is the median over rounds, with the [min–max] of the rounds; p99 and max over the same samples',
        ],
      }],
      summary: [
        target(`directory change → all ${PROCESSES} converged, p50`, `${num(allS.median, 0)} ms (p99 ${num(quantile(all, 0.99), 0)} ms, n=${rounds})`, '≤ 1000 ms', allS.median <= 1000),
      ],
      data,
    }, args);
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
});
