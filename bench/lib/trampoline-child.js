/**
 * Child process of bench/trampoline.js. Runs under the real loader
 * (`--import livepatch/register`) with LIVEPATCH_ROOT pointing at the
 * generated directory, whose livepatch.config.json instruments only the
 * `k_instr_*` and `k_patched_*` kernel modules. Every variant has its own
 * kernel module and its own driver loop, so no two variants share feedback.
 *
 * Patched variants get their slot set by the real engine: `enablePatch` with
 * the replacement, then `waitForTransition`, so the slot holds the new
 * version itself (the steady state).
 *
 * argv[2]: JSON { dir, kernels: [{ name, symbol, variants }], rounds, targetMs, warmupMs, natives }
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { childResult, median, nowMs, rotate } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const url = (file) => pathToFileURL(path.join(cfg.dir, file)).href;
const lp = await import(pathToFileURL(path.join(cfg.dist, 'index.js')).href);

// Steady-state patches for the patched variants.
for (const k of cfg.kernels) {
  if (!k.variants.includes('patched')) continue;
  await import(url(`k_patched_${k.name}.js`));
  const repl = await import(url(`r_patched_${k.name}.js`));
  await lp.enablePatch({
    name: `bench-patched-${k.name}`,
    objects: [{ module: `k_patched_${k.name}.js`, funcs: [{ oldName: k.symbol, newFunc: repl.impl }] }],
  });
  await lp.waitForTransition();
}

const runners = {};
const checks = {};
for (const k of cfg.kernels) {
  for (const v of k.variants) {
    const driver = await import(url(`d_${v}_${k.name}.js`));
    const kernel = await import(url(`k_${v}_${k.name}.js`));
    runners[`${v}_${k.name}`] = driver[`run_${v}_${k.name}`];
    const fn = k.name === 'method' ? kernel.Counter.prototype.bump : kernel[k.fn];
    checks[`${v}_${k.name}`] = {
      instrumented: String(fn).includes('__lp_h'),
      forwardsArguments: String(fn).includes('...arguments'),
    };
  }
}

// Sanity: every variant of a kernel computes the same thing.
for (const k of cfg.kernels) {
  const want = runners[`plain_${k.name}`](5000);
  for (const v of k.variants) {
    const got = runners[`${v}_${k.name}`](5000);
    if (got !== want) throw new Error(`${v}_${k.name} computed ${got}, plain computed ${want}`);
  }
}
const patchedSlots = lp.patchedFunctions().map((p) => `${p.module}:${p.function}`);

function time(run, n) {
  const t0 = nowMs();
  run(n);
  return nowMs() - t0;
}

// Calibrate the iteration count per kernel on the plain variant, then warm
// every variant up so that the timed runs see optimised (or, with --no-opt,
// baseline) code.
const iterations = {};
for (const k of cfg.kernels) {
  const plain = runners[`plain_${k.name}`];
  let n = 10_000;
  let ms = time(plain, n);
  while (ms < 5) {
    n *= 4;
    ms = time(plain, n);
  }
  const deadline = nowMs() + cfg.warmupMs;
  do {
    for (const v of k.variants) time(runners[`${v}_${k.name}`], n);
  } while (nowMs() < deadline);
  ms = median([time(plain, n), time(plain, n), time(plain, n)]);
  iterations[k.name] = Math.max(10_000, Math.round((n * cfg.targetMs) / ms));
}

const samples = {};
for (const name of Object.keys(runners)) samples[name] = [];
const pairs = [];
for (const k of cfg.kernels) {
  pairs.push(['plain', 'instr', k.name]);
  if (k.variants.includes('patched')) pairs.push(['direct', 'patched', k.name]);
}

const paired = {};
for (const [a, b, kernel] of pairs) paired[`${a}:${b}:${kernel}`] = [];
for (let r = 0; r < cfg.rounds; r++) {
  for (const [a, b, kernel] of rotate(pairs, r)) {
    const n = iterations[kernel];
    const order = (r + kernel.length) % 2 === 0 ? [a, b] : [b, a];
    const t = {};
    for (const v of order) {
      const name = `${v}_${kernel}`;
      t[v] = (time(runners[name], n) * 1e6) / n;
      samples[name].push(t[v]);
    }
    paired[`${a}:${b}:${kernel}`].push([t[a], t[b]]);
  }
}

let status = null;
if (cfg.natives) {
  const opt = new Function('f', 'return %GetOptimizationStatus(f)');
  status = {};
  for (const [name, run] of Object.entries(runners)) {
    // A loop function can be between a deopt and its re-optimization; give
    // it the calls it would get in the timed runs before looking.
    for (let i = 0; i < 50 && !(opt(run) & 16); i++) run(iterations[name.slice(name.indexOf('_') + 1)] >> 4);
    status[name] = opt(run);
  }
}

childResult({ samples, paired, iterations, checks, patchedSlots, status });
