/**
 * Shared support for the benchmark scripts: paths, argument parsing, child
 * processes, statistics, tables and the report format.
 *
 * Every benchmark runs its variants in fresh child processes and reports the
 * median of the per-process medians with the [min–max] of those medians.
 * Ratios and deltas are computed per process from measurements taken side by
 * side (interleaved) in that process or run, then summarised the same way.
 *
 * A script's result is a report object:
 *
 *     { bench, title, env, config, tables: [{ title, columns, rows, notes }],
 *       summary: [{ metric, measured, target, met, note }], notes, data }
 *
 * `--json` prints it as one JSON document on stdout; otherwise it is rendered
 * as text. Progress goes to stderr in both cases.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.dirname(BENCH);
export const WORK = path.join(BENCH, '.work');
export const DIST = path.join(ROOT, 'dist');
export const REGISTER = path.join(DIST, 'startup', 'register.js');
export const NODE_MODULES = path.join(ROOT, 'node_modules');

/** Marks the line a child process reports its result on. */
export const RESULT_MARK = '@@bench-result ';

export function parseArgs(argv = process.argv.slice(2)) {
  const args = { quick: false, json: false, rest: [] };
  for (const a of argv) {
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else args.rest.push(a);
  }
  return args;
}

export function log(...parts) {
  process.stderr.write(`${parts.join(' ')}\n`);
}

export function ensureBuilt() {
  if (!fs.existsSync(REGISTER)) {
    throw new Error(`${path.relative(process.cwd(), REGISTER)} is missing: run \`npm run build\` first`);
  }
}

/** Creates (or empties) a directory under bench/.work. */
export function freshDir(...parts) {
  const dir = path.join(WORK, ...parts);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function workDir(...parts) {
  const dir = path.join(WORK, ...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes files relative to `dir`: `{ 'a.js': 'text', … }`. */
export function writeFiles(dir, files) {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

/**
 * Spawns `node [nodeArgs] [--import register] script [args]` and resolves
 * with its exit code, output and wall time. Livepatch's own log lines are
 * kept out of the way unless the caller sets LIVEPATCH_DEBUG.
 */
export function runNode(script, {
  args = [], nodeArgs = [], register = false, env = {}, cwd, timeout = 300_000, input,
} = {}) {
  const argv = [...nodeArgs, ...(register ? ['--import', REGISTER] : []), script, ...args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, {
      cwd: cwd ?? path.dirname(script),
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} timed out after ${timeout} ms\n${stderr.slice(-4000)}`));
    }, timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ code, signal, stdout, stderr, wallMs });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Runs a child that reports with `childResult` and returns that result (plus `wallMs`, `stdout`). */
export async function runChild(script, options = {}) {
  const out = await runNode(script, options);
  const line = out.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (out.code !== 0 || !line) {
    const argv = [...(options.nodeArgs ?? []), options.register ? '--import register' : '', path.basename(script), ...(options.args ?? [])].join(' ');
    throw new Error(`child \`node ${argv}\` failed (exit ${out.code}${out.signal ? `, ${out.signal}` : ''})\n` +
      `stdout:\n${out.stdout.slice(-3000)}\nstderr:\n${out.stderr.slice(-3000)}`);
  }
  const result = JSON.parse(line.slice(RESULT_MARK.length));
  Object.defineProperty(result, 'stdout', { value: out.stdout, enumerable: false });
  Object.defineProperty(result, 'stderr', { value: out.stderr, enumerable: false });
  result.wallMs ??= out.wallMs;
  return result;
}

/** Called in a child process: reports its result to the parent. */
export function childResult(value) {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(value)}\n`);
}

// ---------------------------------------------------------------- statistics

export function median(values) {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile; NaN for an empty list. */
export function quantile(values, q) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const at = (v.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return v[lo] + (v[hi] - v[lo]) * (at - lo);
}

/** `{ median, min, max, n }` of a list. */
export function summarize(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** Median of per-process medians, with the range of the per-process medians. */
export function mpm(perProcess) {
  return summarize(perProcess.map((runs) => median(runs)));
}

// ---------------------------------------------------------------- formatting

export function num(x, digits = 2) {
  if (!Number.isFinite(x)) return '–';
  return x.toFixed(digits);
}

function auto(x) {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  return x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
}

/** `1.23 [1.10–1.40]` */
export function range(s, digits, unit = '') {
  if (!s || !Number.isFinite(s.median)) return '–';
  const f = digits === undefined ? auto : (x) => num(x, digits);
  return `${f(s.median)}${unit} [${f(s.min)}–${f(s.max)}]`;
}

export function signed(x, digits = 2) {
  if (!Number.isFinite(x)) return '–';
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}

/** `+0.31 [−0.10–+0.52]` */
export function signedRange(s, digits = 2, unit = '') {
  if (!s || !Number.isFinite(s.median)) return '–';
  return `${signed(s.median, digits)}${unit} [${signed(s.min, digits)}…${signed(s.max, digits)}]`;
}

/** `1.05×` */
export function ratio(s, digits = 3) {
  if (!s || !Number.isFinite(s.median)) return '–';
  return `${num(s.median, digits)}× [${num(s.min, digits)}–${num(s.max, digits)}]`;
}

export function renderTable({ title, columns, rows, notes = [] }) {
  const widths = columns.map((c, i) => Math.max(String(c).length, ...rows.map((r) => String(r[i] ?? '').length)));
  // Numeric-looking columns are right-aligned, text columns left-aligned.
  const numeric = (c) => c === '' || /^[-+–]?[\d.]/.test(String(c ?? ''));
  const right = columns.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => numeric(r[i])));
  const line = (cells) => cells.map((c, i) => {
    const s = String(c ?? '');
    return right[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]);
  }).join('  ').trimEnd();
  const out = [];
  if (title) out.push(title);
  out.push(line(columns));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) out.push(line(r));
  for (const n of notes) out.push(`  ${n}`);
  return out.join('\n');
}

export function renderSummary(summary, title = 'Summary') {
  return renderTable({
    title,
    columns: ['metric', 'measured', 'target', 'met?'],
    rows: summary.map((s) => [s.metric, s.measured, s.target ?? '–', s.met === true ? 'yes' : s.met === false ? 'NO' : '–']),
  });
}

export function renderReport(report) {
  const out = [`== ${report.title} (${report.bench}) ==`];
  const e = report.env;
  if (e) {
    out.push(`${e.date}  Node ${e.node} (V8 ${e.v8})  ${e.cpus}× ${e.cpu}  ${e.os}  code ${e.code?.commit} dist ${e.code?.dist}\n` +
      `load avg (1/5/15 min) at start ${e.loadavgStart?.join(' ') ?? '?'}, at end ${e.loadavg?.join(' ') ?? '?'}` +
      `${report.config ? `\n${describeConfig(report.config)}` : ''}`);
  }
  for (const t of report.tables) out.push('', renderTable(t));
  if (report.summary?.length) out.push('', renderSummary(report.summary));
  for (const n of report.notes ?? []) out.push(`note: ${n}`);
  return out.join('\n');
}

function describeConfig(config) {
  return Object.entries(config).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
}

const LOAD_AT_START = os.loadavg();

/**
 * What was measured: the git commit (with a mark when the tree has local
 * changes) and a hash of the built dist/*.js, so that results can be tied
 * to the code they came from.
 */
export function codeVersion() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dirty) commit += '+local changes in src/';
  } catch { /* not a git checkout */ }
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.js')) hash.update(e.name).update(fs.readFileSync(f));
    }
  };
  try {
    walk(DIST);
  } catch { /* no dist */ }
  return { commit, dist: hash.digest('hex').slice(0, 12) };
}

export function envInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.versions.node,
    v8: process.versions.v8,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cpus: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    // Other work on this shared machine skews every number; the load average
    // when the report was made tells the reader how quiet the run was.
    code: codeVersion(),
    loadavgStart: LOAD_AT_START.map((x) => Math.round(x * 100) / 100),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Prints the report (`--json`: one JSON document) and saves a copy under bench/.work/results/. */
export function emit(report, args) {
  report.env ??= envInfo();
  try {
    const dir = workDir('results');
    fs.writeFileSync(path.join(dir, `${report.bench}${args.quick ? '.quick' : ''}.json`), JSON.stringify(report, null, 2));
  } catch { /* the copy is a convenience */ }
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${renderReport(report)}\n`);
}

/** A summary row; `met` is computed by the caller from measured numbers. */
export function target(metric, measured, targetText, met, note) {
  return { metric, measured, target: targetText, met, ...(note ? { note } : {}) };
}

/** Runs `main` and turns a failure into a non-zero exit with the message. */
export function main(fn) {
  fn().catch((err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
}

/** Rotates a list by `k`, to vary the order of interleaved variants between rounds. */
export function rotate(list, k) {
  const n = list.length;
  if (n === 0) return list;
  const s = ((k % n) + n) % n;
  return [...list.slice(s), ...list.slice(0, s)];
}

/**
 * CPU time of the calling thread in milliseconds (Linux schedstat, ns
 * resolution), or NaN where unavailable. Unlike wall time it does not count
 * time the thread spent waiting for a core, which other processes on this
 * shared 2-core machine take; it is reported next to wall time as a
 * noise-robust cross-check.
 */
export function threadCpuMs() {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** High-resolution clock in milliseconds. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}
