/**
 * Child process of bench/async.js. Runs under the real loader with
 * LIVEPATCH_ROOT at the generated directory, whose config instruments only
 * the `k_instr_*` modules; LIVEPATCH_CONSISTENCY chooses the mode. Every
 * timed run is one call of a driver loop (`await kernel(i)` n times); in
 * per-task mode the driver runs inside `runTask`, so the plain variant runs
 * inside an AsyncLocalStorage store too and ALS itself is not counted.
 *
 * argv[2]: JSON { dir, dist, kernels: [{ name, fn }], rounds, targetMs, warmupMs, inTask }
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { childResult, median, nowMs, rotate } from './harness.js';

const cfg = JSON.parse(process.argv[2]);
const lp = await import(pathToFileURL(path.join(cfg.dist, 'index.js')).href);
const url = (file) => pathToFileURL(path.join(cfg.dir, file)).href;

const runners = {};
const checks = {};
for (const k of cfg.kernels) {
  for (const v of ['plain', 'instr']) {
    const driver = await import(url(`d_${v}_${k.name}.js`));
    const kernel = await import(url(`k_${v}_${k.name}.js`));
    const run = driver[`run_${v}_${k.name}`];
    runners[`${v}_${k.name}`] = cfg.inTask ? (n) => lp.runTask(`bench ${v} ${k.name}`, () => run(n)) : run;
    checks[`${v}_${k.name}`] = String(kernel[k.fn]).includes('__lp_h');
  }
}
for (const k of cfg.kernels) {
  const want = await runners[`plain_${k.name}`](1000);
  const got = await runners[`instr_${k.name}`](1000);
  if (want !== got) throw new Error(`${k.name}: instrumented computed ${got}, plain ${want}`);
  if (!checks[`instr_${k.name}`] || checks[`plain_${k.name}`]) throw new Error(`${k.name}: instrumentation is not as expected`);
}

async function time(run, n) {
  const t0 = nowMs();
  await run(n);
  return nowMs() - t0;
}

const iterations = {};
for (const k of cfg.kernels) {
  const plain = runners[`plain_${k.name}`];
  let n = 1000;
  let ms = await time(plain, n);
  while (ms < 5) {
    n *= 4;
    ms = await time(plain, n);
  }
  const deadline = nowMs() + cfg.warmupMs;
  do {
    for (const v of ['plain', 'instr']) await time(runners[`${v}_${k.name}`], n);
  } while (nowMs() < deadline);
  ms = median([await time(plain, n), await time(plain, n), await time(plain, n)]);
  iterations[k.name] = Math.max(1000, Math.round((n * cfg.targetMs) / ms));
}

const samples = {};
const paired = {};
for (const k of cfg.kernels) {
  samples[`plain_${k.name}`] = [];
  samples[`instr_${k.name}`] = [];
  paired[k.name] = [];
}
for (let r = 0; r < cfg.rounds; r++) {
  for (const k of rotate(cfg.kernels, r)) {
    const n = iterations[k.name];
    const order = r % 2 === 0 ? ['plain', 'instr'] : ['instr', 'plain'];
    const t = {};
    for (const v of order) {
      t[v] = ((await time(runners[`${v}_${k.name}`], n)) * 1e6) / n;
      samples[`${v}_${k.name}`].push(t[v]);
    }
    paired[k.name].push([t.plain, t.instr]);
  }
}

childResult({ mode: lp.consistency(), samples, paired, iterations, tasks: lp.listTasks().length });
