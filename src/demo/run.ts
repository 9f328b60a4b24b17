/**
 * `livepatch demo`: a shop service under load, fixed live in front of the
 * user with the real `livepatch` commands, then restarted the way services
 * are restarted without livepatch, with the same load, and the two compared.
 * Every figure in the report is measured in this run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyPatch } from 'diff';
import { CLI, DEMO, REGISTER } from '../paths.js';
import { getJson, LoadGenerator, type PhaseStats } from './load.js';


export interface DemoOptions {
  /** A short run for CI: fewer seconds per phase, same steps. */
  quick: boolean;
  out: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a service process and resolves once it prints `listening <port>`. */
function startService(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; lines: string[] }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        lines.push(line);
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve({ child, port: Number(m[1]), lines });
      }
    });
    child.stderr!.on('data', () => {});
    child.on('exit', (code) => reject(new Error(`the service exited (${code}) before listening`)));
  });
}

function stopService(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Runs a `livepatch` command in front of the user; resolves with its exit code and wall time. */
function livepatch(out: (line: string) => void, args: string[]): Promise<{ code: number; ms: number }> {
  out(`$ livepatch ${args.join(' ').replace(`${DEMO}/`, 'demo/')}`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) out(`  ${line}`);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('exit', (code) => resolve({ code: code ?? 1, ms: Date.now() - started }));
  });
}

async function stats(port: number): Promise<{ carts: number; items: number }> {
  return await getJson(port, '/stats') as { carts: number; items: number };
}

const num = (n: number) => n.toLocaleString('en-US');
const versions = (s: PhaseStats) => Object.entries(s.versions).map(([v, n]) => `${v} ${num(n)}`).join(', ') || '-';

/** The run's shape: phase length, slow-report duration, and the load, the same for both ways of fixing. */
interface Settings {
  phaseMs: number;
  reportMs: string;
  load: { connections: number; usersPerConnection: number; reports: number; pauseMs: number };
}

interface LivePatchResult {
  load: LoadGenerator;
  transitions: { step: string; ms: number; code: number }[];
  /** Every `livepatch check` passed. */
  checked: boolean;
  /** The longest gap without a response from the load command to its completed transition. */
  switchGapMs: number;
  /** From the load command's start to the first response of the fixed code. */
  firstFixMs: number;
  /** Carts and items before the first patch, at the end, and what the load generator expects. */
  before: { carts: number; items: number };
  after: { carts: number; items: number };
  expected: { carts: number; items: number };
  carts: { kept: number; total: number };
  port: number;
}

interface RestartResult {
  load: LoadGenerator;
  /** From the reload signal to the first response of the fixed release. */
  firstFixMs: number;
  /** The longest gap without a response from the reload signal to the old worker's exit. */
  switchGapMs: number;
  oldGoneMs: number;
  before: { carts: number; items: number };
  carts: { kept: number; total: number };
}

/** Phase 1: the shop under load, fixed twice and unpatched with the real `livepatch` commands. */
async function livePatchPhase({ phaseMs, reportMs, load: shape }: Settings, out: (line: string) => void): Promise<LivePatchResult> {
  const shop = await startService(['--import', REGISTER, `${DEMO}/service/server.js`], { LIVEPATCH_CACHE: '0', REPORT_MS: reportMs });
  const pid = String(shop.child.pid);
  out(`$ livepatch run demo/service/server.js       (pid ${pid}, port ${shop.port})`);
  out(`load: ${shape.connections} keep-alive connections adding items and reading carts, ${shape.reports} slow reports (${reportMs} ms each) always in flight`);
  out('');

  const load = new LoadGenerator({ port: shop.port, ...shape });
  load.enter('baseline');
  load.start();
  await sleep(phaseMs);
  const before = await stats(shop.port);

  // Each fix is checked against the running code before it is loaded, as
  // docs/build.md has it: the check resolves the patch in the process and
  // changes nothing; the load then switches.
  const transitions: LivePatchResult['transitions'] = [];
  const checks = [await livepatch(out, ['check', `${DEMO}/patches/fix-1.ts`, '-p', pid])];
  load.enter('fix-1');
  const fix1Started = Date.now();
  const fix1Gap = load.watchGaps();
  transitions.push({ step: 'load fix-1', ...await livepatch(out, ['load', `${DEMO}/patches/fix-1.ts`, '-p', pid]) });
  const switchGapMs = fix1Gap();
  await sleep(phaseMs);
  checks.push(await livepatch(out, ['check', `${DEMO}/patches/fix-2.ts`, '-p', pid]));
  load.enter('fix-2 (replace)');
  transitions.push({ step: 'load fix-2 (replaces fix-1)', ...await livepatch(out, ['load', `${DEMO}/patches/fix-2.ts`, '-p', pid]) });
  await sleep(phaseMs);
  load.enter('unloaded');
  transitions.push({ step: 'unload fix-2', ...await livepatch(out, ['unload', 'fix-2', '-p', pid]) });
  await sleep(phaseMs);
  await load.stop();
  const after = await stats(shop.port);
  const result: LivePatchResult = {
    load, transitions, before, after, port: shop.port, checked: checks.every((c) => c.code === 0), switchGapMs,
    firstFixMs: (load.firstSeen.get('fix-1') ?? NaN) - fix1Started,
    expected: load.expectedState(),
    carts: await load.verifyCarts(),
  };
  await stopService(shop.child);
  return result;
}

/**
 * Deploys the fixed release into a copy of the service, as a deploy
 * replaces the files a restart then runs: `demo/releases/fix-1.diff` is the
 * same fix as the fix-1 patch, made to the source.
 */
function deployFixedRelease(dir: string): void {
  const file = path.join(dir, 'src', 'cart.js');
  const fixed = applyPatch(fs.readFileSync(file, 'utf8'), fs.readFileSync(path.join(DEMO, 'releases', 'fix-1.diff'), 'utf8'));
  // The diff is made against demo/service; it applies unless the two were edited apart.
  if (fixed === false) throw new Error('demo/releases/fix-1.diff does not apply to demo/service/src/cart.js');
  fs.writeFileSync(file, fixed);
}

/** Phase 2: the same service and load, fixed the way it is done without livepatch: the fixed release deployed, then a graceful cluster reload. */
async function restartPhase({ phaseMs, reportMs, load: shape }: Settings, port: number, out: (line: string) => void): Promise<RestartResult> {
  out('');
  out('Restarting the same service the way it is done without livepatch: the fixed');
  out('release (demo/releases/fix-1.diff) is deployed, then the cluster reloads (pm2');
  out('reload style): a new worker starts, the old one gets SIGTERM, finishes its');
  out('in-flight requests and exits (or is killed after 3 s). Same load.');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livepatch-demo-'));
  try {
    fs.cpSync(path.join(DEMO, 'service'), dir, { recursive: true });
    const cluster = await startService([path.join(dir, 'cluster.js')], { PORT: String(port), REPORT_MS: reportMs });
    const load = new LoadGenerator({ port, ...shape, expectStateLoss: true });
    load.enter('before');
    load.start();
    await sleep(phaseMs);
    const before = await stats(port);
    deployFixedRelease(dir);
    load.enter('reload');
    const reloadStarted = Date.now();
    const reloadGap = load.watchGaps();
    cluster.child.kill('SIGUSR2');
    // The primary kills the old worker after its kill timeout; 15 s bounds a broken run.
    const until = Date.now() + 15_000;
    while (!load.firstSeen.has('fix-1') && Date.now() < until) await sleep(5);
    while (!cluster.lines.includes('old worker exited') && Date.now() < until) await sleep(10);
    const oldGoneMs = Date.now() - reloadStarted;
    const switchGapMs = reloadGap();
    await sleep(phaseMs);
    await load.stop();
    const carts = await load.verifyCarts();
    await stopService(cluster.child);
    return { load, firstFixMs: (load.firstSeen.get('fix-1') ?? NaN) - reloadStarted, switchGapMs, oldGoneMs, before, carts };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Phase 3: the report; returns whether the live patch kept every promise. */
function report(live: LivePatchResult, restart: RestartResult, out: (line: string) => void): boolean {
  out('');
  out('Live patching, per phase:');
  out('  phase              requests  failed  reports  longest gap  responses by code version');
  for (const [phase, s] of live.load.phases) {
    if (phase === 'start') continue;
    out(`  ${phase.padEnd(18)} ${num(s.requests).padStart(8)}  ${String(s.failed).padStart(6)}  ${String(s.reports).padStart(7)}  ${`${num(s.longestGapMs)} ms`.padStart(11)}  ${versions(s)}`);
  }
  out('');
  out('Transitions (from the command to a completed transition, slow reports finishing on their old code):');
  for (const t of live.transitions) out(`  ${t.step.padEnd(28)} ${num(t.ms)} ms${t.code ? ` (exit ${t.code})` : ''}`);
  const livepatchFailed = [...live.load.phases.values()].reduce((n, s) => n + s.failed, 0);
  const { before, after, expected } = live;
  const stateKept = after.carts === expected.carts && after.items === expected.items && after.carts >= before.carts
    && live.carts.kept === live.carts.total;
  out('');
  out(`Consistency violations: ${live.load.violations.length}`);
  for (const v of live.load.violations) out(`  ${v}`);
  out(`In-memory state: ${num(before.carts)} carts before the first patch, ${num(after.carts)} carts and ${num(after.items)} items at the end, ${stateKept ? 'all as the load generator made them' : `expected ${num(expected.carts)} carts and ${num(expected.items)} items`}`);

  const restartFailed = [...restart.load.phases.values()].reduce((n, s) => n + s.failed, 0);
  const row = (label: string, livePatch: string, restarted: string) => out(`  ${label.padEnd(34)} ${livePatch.padEnd(24)} ${restarted}`);
  out('');
  out('Side by side, under the same load, each from the command that switches to the fix');
  out('(`livepatch load`, the fix checked; the reload signal, the fix deployed):');
  row('', 'live patch (fix-1)', 'graceful restart (reload)');
  row('failed requests', String(livepatchFailed), String(restartFailed));
  row('longest gap without a response', `${num(live.switchGapMs)} ms`, `${num(restart.switchGapMs)} ms`);
  row('new requests on the new code after', `${num(live.firstFixMs)} ms`, `${num(restart.firstFixMs)} ms`);
  row('old code gone after', `${num(live.transitions[0].ms)} ms`, `${num(restart.oldGoneMs)} ms`);
  row('carts kept', `${num(live.carts.kept)}/${num(live.carts.total)}`, `${num(restart.carts.kept)}/${num(restart.carts.total)} (${num(restart.before.carts)} before the reload)`);
  for (const f of [...live.load.failures, ...restart.load.failures].slice(0, 3)) out(`  first failures: ${f}`);

  const ok = live.load.violations.length === 0 && livepatchFailed === 0 && stateKept && live.checked && live.transitions.every((t) => t.code === 0);
  out('');
  out(ok ? 'Result: every response checked, no consistency violation, no failed request, no state lost.'
    : 'Result: FAILED (see above).');
  return ok;
}

export async function runDemo({ quick, out }: DemoOptions): Promise<number> {
  const settings: Settings = {
    phaseMs: quick ? 1500 : 5000,
    reportMs: quick ? '800' : '2000',
    load: { connections: 8, usersPerConnection: 6, reports: 6, pauseMs: 2 },
  };
  out('livepatch demo: a shop with in-memory carts, under load, fixed while it runs.');
  out('');
  const live = await livePatchPhase(settings, out);
  const restart = await restartPhase(settings, live.port, out);
  return report(live, restart, out) ? 0 : 1;
}
