/**
 * `livepatch demo`: a shop service under load, fixed live in front of the
 * user with the real `livepatch` commands, then restarted the way services
 * are restarted without livepatch, with the same load, and the two compared.
 * Every figure in the report is measured in this run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI, REGISTER } from '../paths.js';
import { LoadGenerator, type PhaseStats } from './load.js';

const DEMO = fileURLToPath(new URL('../../demo/', import.meta.url));

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
  out(`$ livepatch ${args.join(' ').replace(DEMO, 'demo/')}`);
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
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  return res.json() as Promise<{ carts: number; items: number }>;
}

const num = (n: number) => n.toLocaleString('en-US');
const versions = (s: PhaseStats) => Object.entries(s.versions).map(([v, n]) => `${v} ${num(n)}`).join(', ') || '-';

export async function runDemo({ quick, out }: DemoOptions): Promise<number> {
  const phaseMs = quick ? 1500 : 5000;
  const REPORT_MS = quick ? '800' : '2000';
  const loadShape = { connections: 8, usersPerConnection: 6, reports: 6 };

  out('livepatch demo: a shop with in-memory carts, under load, fixed while it runs.');
  out('');
  const shop = await startService(['--import', REGISTER, `${DEMO}service/server.js`], { LIVEPATCH_CACHE: '0', REPORT_MS });
  const pid = String(shop.child.pid);
  out(`$ livepatch run demo/service/server.js       (pid ${pid}, port ${shop.port})`);
  out(`load: ${loadShape.connections} keep-alive connections adding items and reading carts, ${loadShape.reports} slow reports (${REPORT_MS} ms each) always in flight`);
  out('');

  const load = new LoadGenerator({ port: shop.port, ...loadShape });
  load.enter('baseline');
  load.start();
  await sleep(phaseMs);
  const before = await stats(shop.port);

  const transitions: { step: string; ms: number; code: number }[] = [];
  load.enter('fix-1');
  const fix1Started = Date.now();
  const fix1 = await livepatch(out, ['load', `${DEMO}patches/fix-1.ts`, '-p', pid]);
  transitions.push({ step: 'load fix-1', ...fix1 });
  await sleep(phaseMs);
  load.enter('fix-2 (replace)');
  const fix2 = await livepatch(out, ['load', `${DEMO}patches/fix-2.ts`, '-p', pid]);
  transitions.push({ step: 'load fix-2 (replaces fix-1)', ...fix2 });
  await sleep(phaseMs);
  load.enter('unloaded');
  const unload = await livepatch(out, ['unload', 'fix-2', '-p', pid]);
  transitions.push({ step: 'unload fix-2', ...unload });
  await sleep(phaseMs);
  await load.stop();
  const after = await stats(shop.port);
  const expected = load.expectedState();
  const livepatchCarts = await load.verifyCarts();
  const firstFix = (load.firstSeen.get('fix-1') ?? NaN) - fix1Started;
  await stopService(shop.child);

  out('');
  out('Restarting the same service the way it is done without livepatch: a cluster');
  out('reload (pm2 reload style): a new worker starts, the old one gets SIGTERM,');
  out('finishes its in-flight requests and exits (or is killed after 3 s). Same load.');
  const port = shop.port;
  const cluster = await startService([`${DEMO}service/cluster.js`], { PORT: String(port), REPORT_MS });
  const restartLoad = new LoadGenerator({ port, ...loadShape, expectStateLoss: true });
  restartLoad.enter('before');
  restartLoad.start();
  await sleep(phaseMs);
  const restartBefore = await stats(port);
  restartLoad.enter('reload');
  const reloadStarted = Date.now();
  cluster.child.kill('SIGUSR2');
  const awaitLine = async (line: string) => {
    // The primary kills the old worker after its kill timeout; 15 s bounds a broken run.
    for (const until = Date.now() + 15_000; !cluster.lines.includes(line) && Date.now() < until;) await sleep(10);
    return Date.now() - reloadStarted;
  };
  const newWorkerMs = await awaitLine('reloaded');
  const oldGoneMs = await awaitLine('old worker exited');
  await sleep(phaseMs);
  await restartLoad.stop();
  const restartCarts = await restartLoad.verifyCarts();
  await stopService(cluster.child);

  // The report.
  out('');
  out('Live patching, per phase:');
  out('  phase              requests  failed  reports  responses by code version');
  for (const [phase, s] of load.phases) {
    if (phase === 'start') continue;
    out(`  ${phase.padEnd(18)} ${num(s.requests).padStart(8)}  ${String(s.failed).padStart(6)}  ${String(s.reports).padStart(7)}  ${versions(s)}`);
  }
  out('');
  out('Transitions (from the command to a completed transition, slow reports finishing on their old code):');
  for (const t of transitions) out(`  ${t.step.padEnd(28)} ${num(t.ms)} ms${t.code ? ` (exit ${t.code})` : ''}`);
  const livepatchFailed = [...load.phases.values()].reduce((n, s) => n + s.failed, 0);
  const livepatchGap = Math.max(...[...load.phases.values()].map((s) => s.longestGapMs));
  const stateKept = after.carts === expected.carts && after.items === expected.items && after.carts >= before.carts
    && livepatchCarts.kept === livepatchCarts.total;
  out('');
  out(`Consistency violations: ${load.violations.length}`);
  for (const v of load.violations) out(`  ${v}`);
  out(`In-memory state: ${num(before.carts)} carts before the first patch, ${num(after.carts)} carts and ${num(after.items)} items at the end, ${stateKept ? 'all as the load generator made them' : `expected ${num(expected.carts)} carts and ${num(expected.items)} items`}`);

  const reload = restartLoad.phases.get('reload')!;
  const restartFailed = [...restartLoad.phases.values()].reduce((n, s) => n + s.failed, 0);
  const row = (label: string, live: string, restart: string) => out(`  ${label.padEnd(34)} ${live.padEnd(24)} ${restart}`);
  out('');
  out('Side by side, under the same load:');
  row('', 'live patch (fix-1)', 'graceful restart (reload)');
  row('failed requests', String(livepatchFailed), String(restartFailed));
  row('longest gap without a response', `${num(livepatchGap)} ms`, `${num(reload.longestGapMs)} ms`);
  row('new requests on the new code after', `${num(firstFix)} ms`, `${num(newWorkerMs)} ms`);
  row('old code gone after', `${num(fix1.ms)} ms`, `${num(oldGoneMs)} ms`);
  row('carts kept', `${num(livepatchCarts.kept)}/${num(livepatchCarts.total)}`, `${num(restartCarts.kept)}/${num(restartCarts.total)} (${num(restartBefore.carts)} before the reload)`);
  for (const f of [...load.failures, ...restartLoad.failures].slice(0, 3)) out(`  first failures: ${f}`);

  const ok = load.violations.length === 0 && livepatchFailed === 0 && stateKept && transitions.every((t) => t.code === 0);
  out('');
  out(ok ? 'Result: every response checked, no consistency violation, no failed request, no state lost.'
    : 'Result: FAILED (see above).');
  return ok ? 0 : 1;
}
