#!/usr/bin/env node
// Peer suites: real open-source test suites run plain and under livepatch,
// side by side, as a regression check of the loader against code it did not
// write. Every process and worker thread of a livepatch run records whether
// it was instrumented (a witness module preloaded after livepatch/register);
// a suite passes the check when its pass/fail counts equal the plain run's
// and every process it started was instrumented.
//
//   node scripts/peer-suites.js [--suites qs,express,…] [--runs N] [--mirror DIR] [--json]
//
// A suite's source is a directory of this repository (`qs`, which CI runs),
// or a GitHub repository: taken from `--mirror DIR` (`DIR/<owner>+<name>/repo`,
// a bare mirror, extracted with `git archive`) when there, else cloned with
// `git clone --depth 1`; its dependencies are installed with npm. Sources and
// installs are kept in $PEER_WORK (by default <tmpdir>/livepatch-peer-suites)
// and reused. A suite whose source or install cannot be had is reported as
// not run, with the reason.
//
// Times are wall-clock seconds per run: with --runs N, plain and livepatch
// runs alternate, and the table gives the median of each and the median of
// the per-pair ratios.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REGISTER = path.join(ROOT, 'dist', 'startup', 'register.js');
const WITNESS = path.join(ROOT, 'scripts', 'peer-witness.mjs');
// Not under bench/.work: express's suite serves files by path, and `send` refuses a path through a dot directory.
const WORK = process.env.PEER_WORK ?? path.join(os.tmpdir(), 'livepatch-peer-suites');
const MOCHA = countsBy(/^\s*(\d+) passing/m, /^\s*(\d+) failing/m);
const TAP = countsBy(/^# pass\s+(\d+)/m, /^# fail\s+(\d+)/m);

/** Reads pass and fail counts by two patterns; a missing fail count is 0, a missing pass count no result. */
function countsBy(passedRe, failedRe) {
  return (output) => {
    const passed = passedRe.exec(output);
    const failed = failedRe.exec(output);
    return passed ? { passed: Number(passed[1]), failed: failed ? Number(failed[1]) : 0 } : null;
  };
}

/** acorn's own runner: `Total: N tests run in T ms; all passed.` or `…; F failures.` */
function acornCounts(output) {
  const total = /^\s*Total: (\d+) tests run in \d+ms; (?:all passed|(\d+) failures)\./m.exec(output);
  return total ? { passed: Number(total[1]) - Number(total[2] ?? 0), failed: Number(total[2] ?? 0) } : null;
}

/**
 * The suites. `command` runs in the suite's directory, with Node as
 * `process.execPath`; `counts` reads its pass and fail counts from its
 * output. `drop` names development dependencies that npm would fetch from
 * GitHub rather than the registry, taken out before the install: no test
 * run here needs them.
 */
const SUITES = [
  {
    name: 'qs', what: 'CommonJS, tape (the copy of qs 6.7.2 in test/fixtures)',
    local: 'test/fixtures/build/cve/qs/node_modules/qs',
    env: { NODE_PATH: path.join(ROOT, 'node_modules') },
    command: () => [path.join(ROOT, 'node_modules', 'tape', 'bin', 'tape'), 'test/*.js'],
    counts: TAP,
  },
  {
    name: 'express', what: 'CommonJS, mocha, supertest', repo: 'expressjs/express',
    // --exit: as its CI, whose npm test exits with the process's open handles.
    command: () => ['node_modules/mocha/bin/mocha.js', '--exit', '--require', 'test/support/env', '--check-leaks', 'test/', 'test/acceptance/'],
    counts: MOCHA,
  },
  {
    name: 'markdown-it', what: 'ESM-only source, node --test', repo: 'markdown-it/markdown-it',
    command: () => ['--test', '--test-reporter=tap', 'test/markdown-it/**/*.test.mjs'],
    counts: TAP,
  },
  {
    name: 'uuid', what: 'TypeScript compiled by tsc, node --test', repo: 'uuidjs/uuid',
    // --no-pack: the tests run here do not install the package's own tarball.
    build: ['npm', 'run', 'build', '--', '--no-pack'],
    command: () => ['--test', '--test-reporter=tap', '--enable-source-maps', 'dist-node/test/*.js'],
    counts: TAP,
  },
  {
    name: 'marked', what: 'an esbuild bundle (lib/marked.esm.js), node --test', repo: 'markedjs/marked',
    // Parser.test.js and bin.test.js need @markedjs/testutils, which depends on a GitHub tarball.
    drop: ['@markedjs/testutils'],
    build: ['npm', 'run', 'build:esbuild'],
    command: () => ['--test', '--test-reporter=tap', ...['Hooks', 'Lexer', 'instance', 'marked'].map((name) => `test/unit/${name}.test.js`)],
    counts: TAP,
  },
  {
    name: 'acorn', what: 'a rollup bundle (acorn/dist/acorn.js), its own runner', repo: 'acornjs/acorn',
    drop: ['test262', 'test262-parser-runner'],
    build: ['npm', 'run', 'pretest'],
    command: () => ['test/run.js'],
    counts: acornCounts,
  },
  {
    name: 'csv-parse', what: 'its own loader (mocha importing tsx)', repo: 'adaltas/node-csv', dir: 'packages/csv-parse',
    command: () => ['../../node_modules/mocha/bin/mocha.js', 'test/**/*.{js,ts}'],
    counts: MOCHA,
  },
];

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const chosen = option('suites', SUITES.map((s) => s.name).join(',')).split(',');
const runs = Number(option('runs', '1'));
const mirror = option('mirror', process.env.PEER_MIRROR);
const json = process.argv.includes('--json');
const log = json ? () => {} : (line) => process.stderr.write(`${line}\n`);

/** Runs a command to completion, resolving with its exit code, output and wall-clock seconds. */
function run(file, args, { cwd, env, timeoutMs = 15 * 60_000 }) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
    child.on('error', (err) => resolve({ code: null, signal: null, output: String(err), seconds: 0 }));
  });
}

/** The suite's directory with its dependencies installed, or throws why it cannot be had. */
function prepare(suite) {
  if (suite.local) return path.join(ROOT, suite.local);
  const top = path.join(WORK, suite.name);
  const dir = path.join(top, suite.dir ?? '');
  if (fs.existsSync(path.join(top, '.peer-ready'))) return dir;
  fs.rmSync(top, { recursive: true, force: true });
  fs.mkdirSync(top, { recursive: true });
  const bare = mirror && path.join(mirror, suite.repo.replace('/', '+'), 'repo');
  const step = (file, args, cwd) => {
    const result = spawnSync(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', shell: false, maxBuffer: 1 << 28 });
    // A step that fails leaves the suite not run; its output says why.
    if (result.status !== 0) throw new Error(`${[file, ...args].join(' ')}: ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').slice(-3).join(' | ')}`);
  };
  if (bare && fs.existsSync(bare)) {
    step('sh', ['-c', `git --git-dir="${bare}" archive HEAD | tar -x -C "${top}"`], top);
  } else {
    step('git', ['clone', '--depth', '1', `https://github.com/${suite.repo}.git`, top], WORK);
  }
  let lock = fs.existsSync(path.join(top, 'package-lock.json'));
  if (suite.drop) {
    const file = path.join(top, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const name of suite.drop) delete pkg.devDependencies[name];
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
    // The lock still names what was dropped.
    fs.rmSync(path.join(top, 'package-lock.json'), { force: true });
    lock = false;
  }
  // No lifecycle scripts: `prepare` runs husky or lefthook, which need a git checkout.
  step('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--ignore-scripts'], top);
  if (suite.build) step(suite.build[0], suite.build.slice(1), dir);
  fs.writeFileSync(path.join(top, '.peer-ready'), '');
  return dir;
}

/** One run of the suite, plain or under livepatch, with its counts and, under livepatch, the witnessed processes. */
async function runOnce(suite, dir, variant) {
  const witness = path.join(os.tmpdir(), `livepatch-peer-${process.pid}-${suite.name}.jsonl`);
  fs.rmSync(witness, { force: true });
  const env = { ...process.env, ...suite.env };
  delete env.NODE_TEST_CONTEXT;
  if (variant === 'livepatch') {
    Object.assign(env, {
      NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import ${REGISTER} --import ${WITNESS}`.trim(),
      PEER_WITNESS: witness, LIVEPATCH_CACHE: '0', LIVEPATCH_CONTROL: '0', LIVEPATCH_INSTALLED: '0',
    });
  }
  const result = await run(process.execPath, suite.command(), { cwd: dir, env });
  const processes = variant === 'livepatch' && fs.existsSync(witness)
    ? fs.readFileSync(witness, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
    : [];
  fs.rmSync(witness, { force: true });
  return { ...result, counts: suite.counts(result.output), processes };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(suite) {
  let dir;
  try {
    dir = prepare(suite);
  } catch (err) {
    return { name: suite.name, what: suite.what, ran: false, reason: err.message };
  }
  const pairs = [];
  for (let i = 0; i < runs; i++) {
    log(`${suite.name}: run ${i + 1}/${runs}`);
    const plain = await runOnce(suite, dir, 'plain');
    const livepatch = await runOnce(suite, dir, 'livepatch');
    pairs.push({ plain, livepatch });
  }
  const last = pairs.at(-1);
  const processes = last.livepatch.processes;
  const uninstrumented = processes.filter((p) => !p.instrumented);
  const same = JSON.stringify(last.plain.counts) === JSON.stringify(last.livepatch.counts) && last.plain.counts !== null;
  return {
    name: suite.name, what: suite.what, ran: true,
    plain: last.plain.counts, livepatch: last.livepatch.counts,
    processes: processes.length, uninstrumented: uninstrumented.map((p) => p.entry),
    plainSeconds: median(pairs.map((p) => p.plain.seconds)),
    livepatchSeconds: median(pairs.map((p) => p.livepatch.seconds)),
    ratio: median(pairs.map((p) => p.livepatch.seconds / p.plain.seconds)),
    ok: same && processes.length > 0 && uninstrumented.length === 0,
    // The tail of each output when the counts differ or are missing, to see why.
    ...(same ? {} : { plainTail: last.plain.output.slice(-2000), livepatchTail: last.livepatch.output.slice(-2000) }),
  };
}

function table(results) {
  const fmt = (c) => (c ? `${c.passed}/${c.failed}` : '?');
  const rows = [['suite', 'kind', 'plain pass/fail', 'livepatch pass/fail', 'processes instrumented', 'plain s', 'livepatch s', 'ratio', '']];
  for (const r of results) {
    if (!r.ran) {
      rows.push([r.name, r.what, '-', '-', '-', '-', '-', '-', `not run: ${r.reason}`]);
      continue;
    }
    rows.push([
      r.name, r.what, fmt(r.plain), fmt(r.livepatch), `${r.processes - r.uninstrumented.length}/${r.processes}`,
      r.plainSeconds.toFixed(2), r.livepatchSeconds.toFixed(2), `${r.ratio.toFixed(2)}x`, r.ok ? 'same' : 'DIFFERS',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  return rows.map((row) => row.map((cell, i) => String(cell).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

const unknown = chosen.filter((name) => !SUITES.some((s) => s.name === name));
if (unknown.length > 0) {
  process.stderr.write(`unknown suite(s): ${unknown.join(', ')} (the suites are ${SUITES.map((s) => s.name).join(', ')})\n`);
  process.exit(2);
}
fs.mkdirSync(WORK, { recursive: true });
const results = [];
for (const suite of SUITES.filter((s) => chosen.includes(s.name))) results.push(await measure(suite));
const header = `Node ${process.version}, ${os.cpus().length} CPUs, ${runs} run(s) each`;
if (json) process.stdout.write(`${JSON.stringify({ node: process.version, runs, results }, null, 2)}\n`);
else process.stdout.write(`${header}\n${table(results)}\n`);
process.exitCode = results.every((r) => !r.ran || r.ok) ? 0 : 1;
